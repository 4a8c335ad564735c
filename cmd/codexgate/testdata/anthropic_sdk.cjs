// anthropic_sdk.cjs drives codexgate's Messages front with the official
// Anthropic TypeScript SDK, as a user's program would. TestAnthropicSDK runs
// it (node, NODE_PATH=.tools/anthropic-sdk/node_modules) with
//   CODEXGATE_URL, CODEXGATE_API_KEY, WANT_ANSWER and a phase argument,
// and it exits non-zero with the reason when anything differs.
'use strict';
const Anthropic = require('@anthropic-ai/sdk');
const assert = require('node:assert/strict');

const base = process.env.CODEXGATE_URL;
const want = process.env.WANT_ANSWER;
const client = new Anthropic({ baseURL: base, apiKey: process.env.CODEXGATE_API_KEY, maxRetries: 0 });
const model = 'claude-opus-5-5'; // what Claude Code 2.1.328 asks for
const tools = [{
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
}];
// A 1x1 PNG.
const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

async function expectError(label, fn, cls, status, type) {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof cls, `${label}: ${e.constructor.name}, want ${cls.name}: ${e.message}`);
    assert.equal(e.status, status, `${label}: status`);
    assert.equal(e.error?.type, 'error', `${label}: body type`);
    assert.equal(e.error?.error?.type, type, `${label}: error type`);
    assert.ok(e.error.error.message, `${label}: message`);
    console.log(`ok ${label}: ${e.status} ${type}`);
    return e;
  }
  assert.fail(`${label}: no error`);
}

async function normal() {
  // Non-streaming.
  const msg = await client.messages.create({ model, max_tokens: 1024, messages: [{ role: 'user', content: 'Say hi' }] });
  assert.equal(msg.type, 'message');
  assert.equal(msg.role, 'assistant');
  assert.equal(msg.model, model);
  assert.equal(msg.stop_reason, 'end_turn');
  assert.deepEqual(msg.content.map((b) => b.type), ['text']);
  assert.equal(msg.content[0].text, want);
  assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0, JSON.stringify(msg.usage));
  console.log('ok non-streaming');

  // Streaming, through the SDK's own event accumulator.
  const stream = client.messages.stream({ model, max_tokens: 1024, system: 'Be brief.', messages: [{ role: 'user', content: 'Say hi' }] });
  let deltas = '';
  stream.on('text', (t) => { deltas += t; });
  const final = await stream.finalMessage();
  assert.equal(deltas, want);
  assert.equal(final.content[0].text, want);
  assert.equal(final.stop_reason, 'end_turn');
  console.log('ok streaming');

  // Tool use round trip.
  const ask = { role: 'user', content: 'Weather? openaisim:call get_weather {"city":"Paris"}' };
  const call = await client.messages.create({ model, max_tokens: 1024, tools, messages: [ask] });
  assert.equal(call.stop_reason, 'tool_use');
  const use = call.content.find((b) => b.type === 'tool_use');
  assert.ok(use, JSON.stringify(call.content));
  assert.equal(use.name, 'get_weather');
  assert.deepEqual(use.input, { city: 'Paris' });
  const done = await client.messages.create({
    model, max_tokens: 1024, tools,
    messages: [ask, { role: 'assistant', content: call.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: '18C and sunny' }] }] }],
  });
  assert.equal(done.stop_reason, 'end_turn');
  assert.ok(done.content[0].text.includes('[tool output: 18C and sunny]'), done.content[0].text);
  console.log('ok tool use round trip');

  // Streaming tool use: input_json_delta accumulated by the SDK.
  const streamed = await client.messages.stream({ model, max_tokens: 1024, tools, messages: [ask] }).finalMessage();
  assert.deepEqual(streamed.content.find((b) => b.type === 'tool_use').input, { city: 'Paris' });
  console.log('ok streaming tool use');

  // Image blocks (base64 and URL).
  const img = await client.messages.create({
    model, max_tokens: 1024,
    messages: [{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
      { type: 'text', text: 'What is this?' }] }],
  });
  assert.equal(img.content[0].text, want);
  console.log('ok image');

  // Thinking.
  const th = await client.messages.create({ model, max_tokens: 16000, thinking: { type: 'enabled', budget_tokens: 8000 }, messages: [{ role: 'user', content: 'Think' }] });
  assert.deepEqual(th.content.map((b) => b.type), ['thinking', 'text']);
  assert.ok(th.content[0].thinking.length > 0);
  console.log('ok thinking');

  // count_tokens: an estimate, but a positive one that grows with the input.
  const small = await client.messages.countTokens({ model, messages: [{ role: 'user', content: 'hi' }] });
  const big = await client.messages.countTokens({ model, tools, messages: [{ role: 'user', content: 'hi '.repeat(1000) }] });
  assert.ok(small.input_tokens > 0 && big.input_tokens > small.input_tokens + 500, `${small.input_tokens} ${big.input_tokens}`);
  console.log('ok count_tokens');

  // Error shapes.
  await expectError('wrong key', () => new Anthropic({ baseURL: base, apiKey: 'cgk_wrong', maxRetries: 0 })
    .messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }), Anthropic.AuthenticationError, 401, 'authentication_error');
  await expectError('document refused', () => client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: [
    { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] }] }), Anthropic.BadRequestError, 400, 'invalid_request_error');
  await expectError('bad image type', () => client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: [
    { type: 'image', source: { type: 'base64', media_type: 'image/tiff', data: 'AAAA' } }] }] }), Anthropic.BadRequestError, 400, 'invalid_request_error');
}

async function limited() {
  const e = await expectError('usage limit', () => client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    Anthropic.RateLimitError, 429, 'rate_limit_error');
  assert.ok(Number(e.headers.get('retry-after')) > 0, 'retry-after header');
}

async function overloaded() {
  await expectError('no account can serve', () => client.messages.create({ model, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    Anthropic.OverloadedError, 529, 'overloaded_error');
}

const phases = { normal, limited, overloaded };
phases[process.argv[2]]().catch((e) => {
  console.error(`FAIL ${process.argv[2]}: ${e.stack || e}`);
  process.exit(1);
});
