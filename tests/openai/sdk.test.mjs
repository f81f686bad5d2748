// The official OpenAI SDK for Node against ragd: run by tests/integration/openai_sdk_test.cpp,
// which starts redis-server, ragd (API keys on) and a worker with the offline generator, and
// passes RAGD_BASE_URL, RAGD_API_KEY and RAGD_MODEL. Tests run in order: the streamed
// completion asks the question the plain completion cached.
import assert from 'node:assert/strict';
import test from 'node:test';
import OpenAI from 'openai';

const baseURL = process.env.RAGD_BASE_URL;
const apiKey = process.env.RAGD_API_KEY;
const model = process.env.RAGD_MODEL;
assert.ok(baseURL && apiKey && model, 'RAGD_BASE_URL, RAGD_API_KEY and RAGD_MODEL must be set');

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });
const question = 'How do I scale workers?';
let cachedAnswer = '';

async function streamed(messages) {
  const stream = await client.chat.completions.create({
    model, messages, stream: true, stream_options: { include_usage: true },
  });
  const out = { text: '', chunks: 0, sources: null, ragd: null, usage: null, finish: null };
  for await (const chunk of stream) {
    out.chunks += 1;
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.ragd?.sources) out.sources = chunk.ragd.sources;
    if (chunk.ragd?.cache) out.ragd = chunk.ragd;
    if (chunk.usage) out.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (choice) {
      out.text += choice.delta.content ?? '';
      if (choice.finish_reason) out.finish = choice.finish_reason;
    }
  }
  return out;
}

test('lists the served model', async () => {
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), [model]);
});

test('a completion answers with cited passages and ragd fields', async () => {
  const c = await client.chat.completions.create({
    model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: question }],
  });
  assert.equal(c.object, 'chat.completion');
  assert.equal(c.model, model);
  assert.equal(c.choices.length, 1);
  assert.equal(c.choices[0].finish_reason, 'stop');
  assert.equal(c.choices[0].message.role, 'assistant');
  const answer = c.choices[0].message.content;
  assert.match(answer, /\[\d+\]/, `no citation marker in: ${answer}`);
  assert.ok(c.ragd.sources.length > 0);
  assert.equal(c.ragd.cache, 'miss');
  assert.ok(c.usage.total_tokens > 0);
  cachedAnswer = answer;
});

test('a streamed completion of the cached question joins to the same answer', async () => {
  const s = await streamed([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: question }]);
  assert.equal(s.text, cachedAnswer);
  assert.equal(s.finish, 'stop');
  assert.ok(s.sources.length > 0);
  assert.equal(s.ragd.cache, 'hit');
  assert.ok(s.usage.total_tokens > 0);
});

test('a streamed completion computed now arrives in pieces and is then cached', async () => {
  const messages = [{ role: 'user', content: 'What happens to a job whose worker dies?' }];
  const s = await streamed(messages);
  assert.equal(s.ragd.cache, 'miss');
  assert.ok(s.chunks >= 4, `only ${s.chunks} chunks`);
  assert.ok(s.ragd.timings_ms.first_token > 0);
  const again = await client.chat.completions.create({ model, messages });
  assert.equal(again.ragd.cache, 'hit');
  assert.equal(again.choices[0].message.content, s.text);
});

test('an unknown model is a 404 model_not_found', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.status === 404 && e.code === 'model_not_found',
  );
});

test('a bad request is a 400', async () => {
  await assert.rejects(
    client.chat.completions.create({ model, messages: [] }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && /messages/.test(e.message),
  );
});

test('a wrong API key is a 401', async () => {
  const stranger = new OpenAI({ baseURL, apiKey: 'not-a-key', maxRetries: 0 });
  await assert.rejects(
    stranger.chat.completions.create({ model, messages: [{ role: 'user', content: question }] }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401,
  );
});
