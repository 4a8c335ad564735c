// Drives codexgate's Chat Completions front and model list with the
// official OpenAI Node SDK, as an application would, and prints what it saw
// as one JSON document for the Go test to check.
//
// env: CODEXGATE_BASE_URL (…/v1), CODEXGATE_API_KEY; NODE_PATH finds `openai`.
const OpenAI = require('openai');

const client = new OpenAI({
  baseURL: process.env.CODEXGATE_BASE_URL,
  apiKey: process.env.CODEXGATE_API_KEY,
  maxRetries: 0,
  timeout: 60_000,
});
const model = 'gpt-5.1-codex';
const tools = [{
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather of a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}];

async function collect(stream) {
  const out = { content: '', finish: null, usage: null, chunks: 0, firstRole: null, toolCalls: {} };
  for await (const chunk of stream) {
    out.chunks++;
    if (chunk.usage) out.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (out.chunks === 1) out.firstRole = choice.delta.role ?? null;
    out.content += choice.delta.content ?? '';
    for (const tc of choice.delta.tool_calls ?? []) {
      const call = (out.toolCalls[tc.index] ??= { id: '', name: '', arguments: '' });
      call.id += tc.id ?? '';
      call.name += tc.function?.name ?? '';
      call.arguments += tc.function?.arguments ?? '';
    }
    if (choice.finish_reason) out.finish = choice.finish_reason;
  }
  return out;
}

async function apiError(fn) {
  try {
    await fn();
    return { thrown: false };
  } catch (err) {
    return { thrown: true, isAPIError: err instanceof OpenAI.APIError, status: err.status ?? null, code: err.code ?? null, message: String(err.message) };
  }
}

async function main() {
  const result = {};

  result.stream = await collect(await client.chat.completions.create({
    model, stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hi' }],
    temperature: 0.3, max_tokens: 50,
  }));

  const done = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Say hi' }] });
  result.nonStream = { object: done.object, content: done.choices[0].message.content, finish: done.choices[0].finish_reason, usage: done.usage };

  // A full tool round trip: the model calls get_weather (streamed), the
  // application runs it and sends the result back (non-streaming).
  const messages = [{ role: 'user', content: 'Weather? openaisim:call get_weather {"city":"Paris"}' }];
  const first = await collect(await client.chat.completions.create({ model, messages, tools, stream: true }));
  const call = first.toolCalls[0];
  messages.push({ role: 'assistant', content: null, tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }] });
  messages.push({ role: 'tool', tool_call_id: call.id, content: 'Sunny, ' + JSON.parse(call.arguments).city });
  const second = await client.chat.completions.create({ model, messages, tools });
  result.tool = { finish: first.finish, call, answer: second.choices[0].message.content, answerFinish: second.choices[0].finish_reason };

  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  result.models = ids;

  const fail = [{ role: 'user', content: 'openaisim:fail server_is_overloaded' }];
  result.errorNonStream = await apiError(() => client.chat.completions.create({ model, messages: fail }));
  result.errorStream = await apiError(async () => collect(await client.chat.completions.create({ model, messages: fail, stream: true })));
  result.errorRefused = await apiError(() => client.chat.completions.create({ model, n: 2, messages: [{ role: 'user', content: 'hi' }] }));

  process.stdout.write(JSON.stringify(result));
}

main().catch((err) => {
  console.error('openai-node-chat:', err && err.stack ? err.stack : err);
  process.exit(1);
});
