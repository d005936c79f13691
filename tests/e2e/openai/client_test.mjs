// The official OpenAI Node client (the `openai` package pinned in package.json) against
// egmla-server's OpenAI-compatible HTTP API. Run by ../openai_client_test.py, which makes the
// models, starts two servers and passes them in the environment:
//   EGMLA_OAI_CLIENT_DIR  the folder scripts/setup.sh ran `npm ci` in (build/node/openai-client)
//   EGMLA_OAI_URL, EGMLA_OAI_METRICS, EGMLA_OAI_MODEL, EGMLA_OAI_KEY
//       server "main": a text model with "chat_format": "chatml", --api-key-file
//   EGMLA_OAI_SMALL_URL, EGMLA_OAI_SMALL_METRICS, EGMLA_OAI_SMALL_MODEL
//       server "small": a text model without a chat format, no key, --max-num-seqs 1
//       --max-queued-requests 1
// URLs: the API's base (http://127.0.0.1:PORT/v1) and the Prometheus endpoint
// (http://127.0.0.1:PORT/metrics). Usage: node --test-reporter=spec client_test.mjs
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`client_test.mjs: ${name} is not set (see the header comment)`);
  return value;
}

const require = createRequire(path.join(path.resolve(env('EGMLA_OAI_CLIENT_DIR')), 'package.json'));
const { OpenAI } = require('openai');

const MAIN = {
  url: env('EGMLA_OAI_URL'), metrics: env('EGMLA_OAI_METRICS'), model: env('EGMLA_OAI_MODEL'),
  key: env('EGMLA_OAI_KEY'),
};
const SMALL = {
  url: env('EGMLA_OAI_SMALL_URL'), metrics: env('EGMLA_OAI_SMALL_METRICS'),
  model: env('EGMLA_OAI_SMALL_MODEL'),
};

// maxRetries 0: the client retries 429 and 5xx by default, which would hide them.
const client = new OpenAI({ baseURL: MAIN.url, apiKey: MAIN.key, maxRetries: 0, timeout: 60000 });
const small = new OpenAI({ baseURL: SMALL.url, apiKey: 'unused', maxRetries: 0, timeout: 60000 });

const PROMPT = 'This program is free software';
// Greedy and a fixed length: the same request gives the same text, streamed or not.
const GREEDY = {
  model: MAIN.model, prompt: PROMPT, max_tokens: 16, temperature: 0, ignore_eos: true,
};

// ---------------------------------------------------------------------------------------------
// Helpers.

/** The value of sample `name` (with its labels as exposed: `x{a="b"}`) of the Prometheus text
 * exposition at `url`. */
async function gauge(url, name) {
  const text = await (await fetch(url)).text();
  for (const line of text.split('\n')) {
    const [sample, value] = line.split(/\s+/);
    if (sample === name) return Number(value);
  }
  throw new Error(`${url} has no sample ${name}`);
}

/** Polls `predicate` (async) every 50 ms until it is truthy; false after `ms`. */
async function waitFor(predicate, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await predicate()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Nothing running or waiting and no cache block held, per the server's /metrics. */
async function idle(server) {
  return (await gauge(server.metrics, 'egmla_requests_running')) === 0 &&
    (await gauge(server.metrics, 'egmla_requests_waiting')) === 0 &&
    (await gauge(server.metrics, 'egmla_kv_cache_usage_ratio')) === 0;
}

/** Awaits `promise`, which must reject with an instance of `type`; returns the error. */
async function rejectsWith(promise, type) {
  try {
    const value = await promise;
    assert.fail(`expected ${type.name}, got a response: ${JSON.stringify(value).slice(0, 300)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(e instanceof type, `expected ${type.name}, got ${e?.constructor?.name}: ${e}`);
    return e;
  }
}

function assertUsage(usage, completionTokens) {
  assert.ok(usage, 'usage is missing');
  assert.ok(usage.prompt_tokens > 0, JSON.stringify(usage));
  if (completionTokens !== undefined) assert.equal(usage.completion_tokens, completionTokens);
  assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
}

// ---------------------------------------------------------------------------------------------
// Models and health.

let maxModelLen;

test('GET /v1/models lists the served model', async () => {
  const page = await client.models.list();
  const models = page.data;
  assert.equal(models.length, 1, JSON.stringify(models));
  const [model] = models;
  assert.equal(model.id, MAIN.model);
  assert.equal(model.object, 'model');
  assert.equal(model.owned_by, 'egmla-serve');
  assert.equal(typeof model.created, 'number');
  assert.ok(Number.isInteger(model.max_model_len) && model.max_model_len > 0,
    JSON.stringify(model));
  maxModelLen = model.max_model_len;
});

test('GET /health is 200 when ready', async () => {
  const response = await fetch(new URL('/health', SMALL.url));
  assert.equal(response.status, 200);
});

// ---------------------------------------------------------------------------------------------
// Completions.

let greedyText;

test('completion: plain', async () => {
  const completion = await client.completions.create(GREEDY);
  assert.match(completion.id, /^cmpl-/);
  assert.equal(completion.object, 'text_completion');
  assert.equal(typeof completion.created, 'number');
  assert.equal(completion.model, MAIN.model);
  assert.equal(completion.choices.length, 1);
  const [choice] = completion.choices;
  assert.equal(choice.index, 0);
  assert.equal(choice.finish_reason, 'length');
  assert.equal(typeof choice.text, 'string');
  assert.ok(choice.text.length > 0, 'no text from 16 tokens');
  assert.equal(choice.logprobs ?? null, null);
  assertUsage(completion.usage, 16);
  greedyText = choice.text;
  // Greedy is deterministic.
  const again = await client.completions.create(GREEDY);
  assert.equal(again.choices[0].text, greedyText);
});

test('completion: streamed text equals the non-streamed text', async () => {
  const stream = await client.completions.create({
    ...GREEDY, stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks += 1;
    assert.equal(chunk.object, 'text_completion');
    assert.match(chunk.id, /^cmpl-/);
    assert.equal(chunk.model, MAIN.model);
    for (const choice of chunk.choices) {
      assert.equal(choice.index, 0);
      text += choice.text;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.ok(chunks >= 2, `${chunks} chunk(s)`);
  assert.equal(text, greedyText);
  assert.equal(finish, 'length');
  assertUsage(usage, 16);
});

test('completion: a prompt of token ids', async () => {
  const ids = [1, 17, 42, 99, 123, 7];
  const completion = await client.completions.create({ ...GREEDY, prompt: ids, max_tokens: 5 });
  assert.equal(completion.choices[0].finish_reason, 'length');
  assertUsage(completion.usage, 5);
  assert.equal(completion.usage.prompt_tokens, ids.length);
});

test('completion: echo puts the prompt in front', async () => {
  const plain = await client.completions.create({ ...GREEDY, max_tokens: 4 });
  const echoed = await client.completions.create({ ...GREEDY, max_tokens: 4, echo: true });
  assert.equal(echoed.choices[0].text, PROMPT + plain.choices[0].text);
});

test('completion: logprobs in the legacy format', async () => {
  const completion = await client.completions.create({ ...GREEDY, max_tokens: 6, logprobs: 2 });
  const [choice] = completion.choices;
  assert.equal(choice.text, greedyText.slice(0, choice.text.length));
  const lp = choice.logprobs;
  assert.ok(lp, 'logprobs missing');
  for (const key of ['tokens', 'token_logprobs', 'top_logprobs', 'text_offset']) {
    assert.ok(Array.isArray(lp[key]), `logprobs.${key}: ${JSON.stringify(lp[key])}`);
    assert.equal(lp[key].length, 6, `logprobs.${key} has one entry per token`);
  }
  for (let i = 0; i < 6; i++) {
    assert.equal(typeof lp.tokens[i], 'string');
    assert.ok(lp.token_logprobs[i] <= 0, `token_logprobs[${i}] = ${lp.token_logprobs[i]}`);
    const top = Object.values(lp.top_logprobs[i]);
    // Two ids can detokenize to the same string, so a dict may hold fewer than 2.
    assert.ok(top.length >= 1 && top.length <= 2, JSON.stringify(lp.top_logprobs[i]));
    // Greedy picks the most likely token: its logprob is the best of the top ones.
    assert.ok(Math.abs(Math.max(...top) - lp.token_logprobs[i]) < 1e-4,
      `step ${i}: ${lp.token_logprobs[i]} vs ${JSON.stringify(lp.top_logprobs[i])}`);
    if (i > 0) {
      assert.ok(lp.text_offset[i] >= lp.text_offset[i - 1], JSON.stringify(lp.text_offset));
    }
  }
  assertUsage(completion.usage, 6);
});

test('completion: stop sequences cut the text', async () => {
  const free = (await client.completions.create({ ...GREEDY, max_tokens: 30 })).choices[0].text;
  assert.ok(free.length > 12, JSON.stringify(free));
  const stop = free.slice(8, 12);
  const expected = free.slice(0, free.indexOf(stop));
  for (const stopField of [stop, [stop, 'never matches \u{1F600}']]) {
    const completion = await client.completions.create({
      ...GREEDY, max_tokens: 30, stop: stopField,
    });
    assert.equal(completion.choices[0].text, expected, `stop ${JSON.stringify(stopField)}`);
    assert.equal(completion.choices[0].finish_reason, 'stop');
  }
});

test('completion: the same seed gives the same text (temperature 1)', async () => {
  const request = { ...GREEDY, max_tokens: 24, temperature: 1, top_p: 1, seed: 1234 };
  const first = (await client.completions.create(request)).choices[0].text;
  const second = (await client.completions.create(request)).choices[0].text;
  assert.equal(second, first);
  // Other seeds give other samples (one of three differing is all but certain).
  const others = [];
  for (const seed of [1, 2, 3]) {
    others.push((await client.completions.create({ ...request, seed })).choices[0].text);
  }
  assert.ok(others.some((text) => text !== first), 'every seed gave the same text');
});

// ---------------------------------------------------------------------------------------------
// Chat (the main model's config.json names "chat_format": "chatml").

const MESSAGES = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Everyone is permitted to copy' },
];
const CHAT = {
  model: MAIN.model, messages: MESSAGES, max_tokens: 10, temperature: 0, ignore_eos: true,
};

let chatContent;

test('chat: non-streamed', async () => {
  const completion = await client.chat.completions.create(CHAT);
  assert.equal(completion.object, 'chat.completion');
  assert.equal(typeof completion.id, 'string');
  assert.equal(completion.model, MAIN.model);
  assert.equal(completion.choices.length, 1);
  const [choice] = completion.choices;
  assert.equal(choice.index, 0);
  assert.equal(choice.message.role, 'assistant');
  assert.equal(typeof choice.message.content, 'string');
  assert.ok(['stop', 'length'].includes(choice.finish_reason), choice.finish_reason);
  assertUsage(completion.usage);
  assert.ok(completion.usage.completion_tokens <= 10);
  chatContent = choice.message.content;
  // max_completion_tokens is max_tokens' newer name.
  const { max_tokens: _, ...rest } = CHAT;
  const newer = await client.chat.completions.create({ ...rest, max_completion_tokens: 10 });
  assert.equal(newer.choices[0].message.content, chatContent);
});

test('chat: streamed deltas add up to the non-streamed message', async () => {
  const stream = await client.chat.completions.create({
    ...CHAT, stream: true, stream_options: { include_usage: true },
  });
  let content = '';
  let finish = null;
  let usage = null;
  let first = true;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, MAIN.model);
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices.length === 0) continue;
    const [choice] = chunk.choices;
    if (first) {
      assert.equal(choice.delta.role, 'assistant', JSON.stringify(chunk));
      first = false;
    }
    content += choice.delta.content ?? '';
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  assert.equal(first, false, 'no chunk had a choice');
  assert.equal(content, chatContent);
  assert.ok(['stop', 'length'].includes(finish), String(finish));
  assertUsage(usage);
});

test('chat: logprobs and top_logprobs', async () => {
  const completion = await client.chat.completions.create({
    ...CHAT, max_tokens: 5, logprobs: true, top_logprobs: 2,
  });
  const [choice] = completion.choices;
  assert.equal(choice.message.content, chatContent.slice(0, choice.message.content.length));
  const entries = choice.logprobs?.content;
  assert.ok(Array.isArray(entries), JSON.stringify(choice.logprobs));
  assert.equal(entries.length, completion.usage.completion_tokens);
  for (const entry of entries) {
    assert.equal(typeof entry.token, 'string');
    assert.ok(entry.logprob <= 0, JSON.stringify(entry));
    assert.ok(Array.isArray(entry.top_logprobs) && entry.top_logprobs.length === 2,
      JSON.stringify(entry));
    assert.ok(Math.abs(entry.top_logprobs[0].logprob - entry.logprob) < 1e-4,
      JSON.stringify(entry));
  }
});

test('chat: a model without a chat format is a 400', async () => {
  const e = await rejectsWith(small.chat.completions.create({ ...CHAT, model: SMALL.model }),
    OpenAI.BadRequestError);
  assert.equal(e.status, 400);
  assert.match(e.message, /chat/i);
});

// ---------------------------------------------------------------------------------------------
// Errors.

test('errors: a bad field is a BadRequestError naming it', async () => {
  const cases = [
    [{ ...GREEDY, temperature: 500 }, 'temperature'],
    [{ ...GREEDY, top_p: 0 }, 'top_p'],
    [{ ...GREEDY, n: 2 }, 'n'],
    [{ ...GREEDY, logprobs: 21 }, 'logprobs'],
    [{ ...GREEDY, prompt: ['one prompt', 'two prompts'] }, 'prompt'],
  ];
  for (const [request, param] of cases) {
    const e = await rejectsWith(client.completions.create(request), OpenAI.BadRequestError);
    assert.equal(e.status, 400);
    assert.equal(e.param, param, `${JSON.stringify(request)}: ${e.message}`);
    assert.equal(typeof e.error?.message, 'string');
    assert.equal(typeof e.type, 'string');
  }
  const e = await rejectsWith(client.chat.completions.create({ ...CHAT, temperature: 500 }),
    OpenAI.BadRequestError);
  assert.equal(e.param, 'temperature');
});

test('errors: another model name is a NotFoundError', async () => {
  const e = await rejectsWith(client.completions.create({ ...GREEDY, model: 'no-such-model' }),
    OpenAI.NotFoundError);
  assert.equal(e.status, 404);
  assert.equal(e.code, 'model_not_found');
});

test('errors: no or a wrong API key is an AuthenticationError', async () => {
  // Authorization: null removes the header the client would send.
  const noKey = new OpenAI({
    baseURL: MAIN.url, apiKey: 'unused', maxRetries: 0, defaultHeaders: { Authorization: null },
  });
  const wrongKey = new OpenAI({ baseURL: MAIN.url, apiKey: MAIN.key + 'x', maxRetries: 0 });
  for (const c of [noKey, wrongKey]) {
    const e = await rejectsWith(c.completions.create(GREEDY), OpenAI.AuthenticationError);
    assert.equal(e.status, 401);
    await rejectsWith(c.chat.completions.create(CHAT), OpenAI.AuthenticationError);
  }
});

test('errors: a full waiting queue is a RateLimitError (429)', async () => {
  // The small server runs 1 request and queues 1: a third is refused.
  const long = {
    model: SMALL.model, prompt: PROMPT, max_tokens: 8000, ignore_eos: true, stream: true,
  };
  const running = await small.completions.create(long);
  const iterator = running[Symbol.asyncIterator]();
  const waiting = new AbortController();
  let waitingStream = null; // resolves to the queued request's stream once its headers arrive
  try {
    await iterator.next(); // it runs
    waitingStream = small.completions.create(long, { signal: waiting.signal }).catch(() => null);
    const queued = async () => (await gauge(SMALL.metrics, 'egmla_requests_waiting')) === 1;
    assert.ok(await waitFor(queued, 10000), 'the second request did not queue');
    const e = await rejectsWith(small.completions.create({ ...GREEDY, model: SMALL.model }),
      OpenAI.RateLimitError);
    assert.equal(e.status, 429);
  } finally {
    running.controller.abort();
    waiting.abort();
    (await waitingStream)?.controller.abort();
  }
  assert.ok(await waitFor(() => idle(SMALL), 10000), 'the small server did not become idle');
  // It serves on.
  const ok = await small.completions.create({ ...GREEDY, model: SMALL.model, max_tokens: 3 });
  assertUsage(ok.usage, 3);
});

// ---------------------------------------------------------------------------------------------
// A stream the client cuts: the server aborts the request and frees its blocks.

const ABORTED = 'egmla_requests_finished_total{finish_reason="aborted"}';

test('a streamed request cut by the client frees its blocks', async () => {
  assert.ok(await idle(MAIN), 'the main server is busy before the test');
  const abortedBefore = await gauge(MAIN.metrics, ABORTED);
  // Long enough (16k tokens: about 30 s on a 2-core CPU) that only the cut can end it soon.
  const stream = await client.completions.create({
    ...GREEDY, max_tokens: (maxModelLen ?? 4096) - 64, stream: true,
  });
  let chunks = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.choices[0]?.finish_reason ?? null, null, JSON.stringify(chunk));
    chunks += 1;
    if (chunks === 3) {
      assert.ok((await gauge(MAIN.metrics, 'egmla_kv_cache_usage_ratio')) > 0,
        'no blocks are held while the request runs');
      // Chunks already received would still be yielded after abort(): leave the loop.
      stream.controller.abort();
      break;
    }
  }
  const cutAt = Date.now();
  assert.ok(await waitFor(() => idle(MAIN), 5000), 'the blocks were not freed 5 s after the cut');
  assert.equal(await gauge(MAIN.metrics, ABORTED), abortedBefore + 1,
    'the request was not aborted');
  console.log(`# freed ${Date.now() - cutAt} ms after the cut`);
});
