// keyctl_sdks.cjs checks a key's model allow-list as the official SDKs see
// it. TestKeyControls_Clients runs it (node, NODE_PATH with both
// .tools/openai and .tools/anthropic-sdk node_modules) with CODEXGATE_URL
// (without /v1), CODEXGATE_API_KEY (a key allowed gpt-5.1-codex only) and
// WANT_ANSWER, and it exits non-zero with the reason when anything differs.
'use strict';
const OpenAI = require('openai');
const Anthropic = require('@anthropic-ai/sdk');
const assert = require('node:assert/strict');

const base = process.env.CODEXGATE_URL;
const apiKey = process.env.CODEXGATE_API_KEY;
const want = process.env.WANT_ANSWER;
const openai = new OpenAI({ baseURL: base + '/v1', apiKey, maxRetries: 0, timeout: 60_000 });
const anthropic = new Anthropic({ baseURL: base, apiKey, maxRetries: 0 });

async function refused(label, fn, check) {
  try {
    await fn();
  } catch (e) {
    check(e);
    console.log(`ok ${label}: ${e.status} ${e.message}`);
    return;
  }
  assert.fail(`${label}: no error`);
}

async function main() {
  // The model list holds only the allowed model.
  const ids = [];
  for await (const m of openai.models.list()) ids.push(m.id);
  // The allowed model, then its effort-suffixed names (routing controls).
  assert.deepEqual(ids, ['gpt-5.1-codex', 'gpt-5.1-codex-low', 'gpt-5.1-codex-medium', 'gpt-5.1-codex-high'], 'models.list()');
  console.log(`ok models.list: ${ids}`);

  const ok = await openai.chat.completions.create({ model: 'gpt-5.1-codex', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(ok.choices[0].message.content, want, 'allowed model answers');
  console.log('ok chat with gpt-5.1-codex');

  await refused('chat with gpt-5.1-codex-mini', () => openai.chat.completions.create({
    model: 'gpt-5.1-codex-mini', messages: [{ role: 'user', content: 'hi' }], stream: true,
  }), (e) => {
    assert.ok(e instanceof OpenAI.PermissionDeniedError, `${e.constructor.name}, want PermissionDeniedError`);
    assert.equal(e.status, 403);
    assert.equal(e.code, 'model_not_allowed');
    assert.match(e.message, /gpt-5\.1-codex-mini/);
    assert.match(e.message, /may use: gpt-5\.1-codex\./);
  });
  await refused('responses with gpt-5-codex', () => openai.responses.create({
    model: 'gpt-5-codex', input: 'hi', instructions: 'x',
  }), (e) => {
    assert.ok(e instanceof OpenAI.PermissionDeniedError, `${e.constructor.name}`);
    assert.equal(e.code, 'model_not_allowed');
  });

  // Claude names map to Codex models (opus: gpt-5.1-codex, haiku:
  // gpt-5.1-codex-mini); the list applies to the mapped model.
  const msg = await anthropic.messages.create({ model: 'claude-opus-5-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(msg.content[0].text, want, 'allowed Claude model answers');
  console.log('ok messages with claude-opus-5-5');
  await refused('messages with claude-haiku-4-5', () => anthropic.messages.create({
    model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }],
  }), (e) => {
    assert.ok(e instanceof Anthropic.PermissionDeniedError, `${e.constructor.name}, want PermissionDeniedError`);
    assert.equal(e.status, 403);
    assert.equal(e.error?.type, 'error');
    assert.equal(e.error?.error?.type, 'permission_error');
    assert.match(e.error.error.message, /gpt-5\.1-codex-mini/);
  });
}

main().catch((e) => {
  console.error(`FAIL: ${e.stack || e}`);
  process.exit(1);
});
