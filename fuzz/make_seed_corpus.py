#!/usr/bin/env python3
"""Writes the hand-made seeds of the fuzz corpora (fuzz/corpus/<target>/seed_*), deterministically.

Run from anywhere: /usr/bin/python3 fuzz/make_seed_corpus.py. It rewrites only files named
seed_*; the other files of a corpus (inputs the fuzzer found, crash reproducers named crash_*)
are left alone. Seeds are valid and invalid examples built from tests/data, the checked-in
configs and the API docs, kept small so that libFuzzer mutates them quickly.
"""
import json
import random
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
TOKENIZERS = ROOT / "tests" / "data" / "tokenizers"


def write(target, name, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    (directory / f"seed_{name}").write_bytes(data)


def dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- config.json ----------------------------------------------------------------------------
def config_seeds():
    paths = [ROOT / "models" / "default.config.json", ROOT / "models" / "egmla-kjv" / "config.json"]
    paths += sorted((ROOT / "configs").glob("**/*.json"))
    for path in paths:
        write("config_json", path.relative_to(ROOT).as_posix().replace("/", "_"), path.read_bytes())
    base = json.loads((ROOT / "models" / "default.config.json").read_text())
    variants = {
        "latent_chatml": dict(base, gate_placement="latent", chat_format="chatml",
                              eos_token_id=[2, 3], q_lora_rank=64),
        "mha_head_dim": {k: v for k, v in base.items() if "lora" not in k and "gate" not in k
                         and "qk_" not in k and "v_head" not in k} | {"attention_type": "mha",
                                                                      "head_dim": 32},
        "mla_llama3": {k: v for k, v in base.items() if "gate" not in k}
                      | {"attention_type": "mla", "chat_format": "llama-3", "bos_token_id": 0},
        "huge_sizes": dict(base, num_attention_heads=4611686018427387904,
                           qk_nope_head_dim=4611686018427387904, gate_layer_group_size=2**62,
                           num_hidden_layers=2**62),
        "bad_types": dict(base, hidden_size="128", rope_theta=-1, eos_token_id={"a": 1}),
        "nested": '{"attention_type": [[[[[[[[[[]]]]]]]]]]}',
        "not_object": "[1, 2, 3]",
        "empty": "",
        "bad_utf8": b'{"attention_type": "eg\xff_mla"}',
    }
    for name, value in variants.items():
        write("config_json", name, value if isinstance(value, (str, bytes)) else dumps(value))


# --- safetensors ----------------------------------------------------------------------------
DTYPE_SIZES = {"F32": 4, "BF16": 2, "F16": 2, "I32": 4}


def safetensors_bytes(tensors, metadata=None, pad=True, header_override=None, extra=b""):
    """tensors: [(name, dtype, shape)], laid out in order; returns the file's bytes."""
    header, data, offset = {}, b"", 0
    for name, dtype, shape in tensors:
        count = 1
        for d in shape:
            count *= d
        size = count * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        data += bytes((offset + i) % 251 for i in range(size))
        offset += size
    if metadata is not None:
        header["__metadata__"] = metadata
    text = header_override if header_override is not None else json.dumps(header).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data + extra


def safetensors_seeds():
    write("safetensors", "one_f32", safetensors_bytes([("w", "F32", [2, 3])]))
    write("safetensors", "all_dtypes", safetensors_bytes(
        [("a", "F32", [2]), ("b", "BF16", [3, 1]), ("c", "F16", [1, 1, 2]), ("d", "I32", [])],
        metadata={"format": "pt"}))
    write("safetensors", "empty_tensor", safetensors_bytes([("e", "F32", [0, 4]), ("s", "I32", [1])]))
    write("safetensors", "no_tensors", safetensors_bytes([], metadata={}))
    write("safetensors", "trailing_bytes", safetensors_bytes([("w", "F16", [2])], extra=b"xyz!"))
    write("safetensors", "truncated", safetensors_bytes([("w", "F32", [4, 4])])[:-7])
    write("safetensors", "short", b"\x05\x00\x00")
    write("safetensors", "header_too_long", struct.pack("<Q", 1 << 40) + b"{}")
    overlap = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
               "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
    write("safetensors", "overlap",
          safetensors_bytes([], header_override=json.dumps(overlap).encode(), extra=bytes(8)))
    gap = {"a": {"dtype": "I32", "shape": [1], "data_offsets": [4, 8]}}
    write("safetensors", "gap",
          safetensors_bytes([], header_override=json.dumps(gap).encode(), extra=bytes(8)))
    dup = b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "shape": [1]}}'
    write("safetensors", "duplicate_key", safetensors_bytes([], header_override=dup, extra=bytes(4)))
    bad = {"a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]},
           "b": {"dtype": "F32", "shape": [9223372036854775807, 4], "data_offsets": [0, 4]}}
    write("safetensors", "bad_entries",
          safetensors_bytes([], header_override=json.dumps(bad).encode(), extra=bytes(8)))


def index_seeds():
    write("safetensors_index", "two_shards", dumps(
        {"metadata": {"total_size": 24},
         "weight_map": {"a": "model-00001-of-00002.safetensors",
                        "b": "model-00002-of-00002.safetensors",
                        "c": "model-00001-of-00002.safetensors"}}))
    write("safetensors_index", "empty_map", '{"weight_map": {}}')
    write("safetensors_index", "bad_entry", '{"weight_map": {"a": 3, "b": ""}}')
    write("safetensors_index", "no_map", '{"metadata": {"total_size": 1}}')
    write("safetensors_index", "not_json", '{"weight_map": {"a": "s.safetensors",}')
    write("safetensors_index", "duplicate", '{"weight_map": {"a": "s1", "a": "s2"}}')


# --- tokenizer.json -------------------------------------------------------------------------
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_CHAR = bytes_to_unicode()


def byte_level(text):
    return "".join(BYTE_TO_CHAR[b] for b in text.encode("utf-8"))


def tiny_tokenizer(merges, byte_range=range(256), **extra):
    vocab = {byte_level_byte(b): b for b in byte_range}
    merge_list = []
    next_id = 256
    for left, right in merges:
        vocab[byte_level(left + right)] = next_id
        next_id += 1
        merge_list.append(byte_level(left) + " " + byte_level(right))
    root = {"model": {"type": "BPE", "vocab": vocab, "merges": merge_list},
            "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False},
            "added_tokens": []}
    for key, value in extra.items():
        if key.startswith("model_"):
            root["model"][key[len("model_"):]] = value
        else:
            root[key] = value
    return root


def byte_level_byte(b):
    return BYTE_TO_CHAR[b]


def tokenizer_json_seeds():
    merges = [("l", "l"), ("h", "e"), ("he", "ll"), ("hell", "o"), (" ", "w"), (" w", "o")]
    added = [{"id": 300, "content": "<|end|>", "special": True},
             {"id": 301, "content": "[MASK]", "lstrip": True, "rstrip": True, "single_word": True,
              "normalized": False},
             {"id": 302, "content": "ok", "special": False, "normalized": True}]
    text = "hello world <|end|> [MASK] okay 12345 naïve 😀\n\t"
    seeds = {
        "bytelevel": tiny_tokenizer(merges),
        "added_tokens": tiny_tokenizer(merges, added_tokens=added),
        "pairs_ignore_merges": dict(tiny_tokenizer([]), model={
            "type": "BPE", "ignore_merges": True,
            "vocab": {**{byte_level_byte(b): b for b in range(256)}, byte_level("hello"): 256,
                      byte_level("he"): 257, byte_level("llo"): 258, byte_level("ll"): 259},
            "merges": [[byte_level("h"), byte_level("e")], [byte_level("l"), byte_level("l")],
                       [byte_level("ll"), byte_level("o")]]}),
        "llama3_split": tiny_tokenizer(merges, pre_tokenizer={
            "type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"},
                 "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}),
        "split_behaviors": tiny_tokenizer(merges, pre_tokenizer={
            "type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": True},
                {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext"},
                {"type": "Split", "pattern": {"Regex": "o+"}, "behavior": "Contiguous",
                 "invert": True},
                {"type": "Split", "pattern": {"String": "l"}, "behavior": "MergedWithPrevious"},
                {"type": "Split", "pattern": {"Regex": "\\s"}, "behavior": "Removed"},
                {"type": "ByteLevel", "add_prefix_space": True}]}),
        "unk_fuse_fallback": tiny_tokenizer(merges, byte_range=range(32, 127),
                                            model_unk_token=byte_level("h"), model_fuse_unk=True,
                                            model_byte_fallback=True),
        "byte_fallback_vocab": dict(tiny_tokenizer([], byte_range=range(97, 123)), model={
            "type": "BPE", "byte_fallback": True, "merges": [],
            "vocab": {**{byte_level_byte(b): b for b in range(97, 123)},
                      **{f"<0x{b:02X}>": 256 + b for b in range(256)}}}),
        "normalizer_sequence": tiny_tokenizer(merges, normalizer={"type": "Sequence",
                                                                  "normalizers": []},
                                              decoder={"type": "ByteLevel"},
                                              post_processor=None, model_dropout=None,
                                              model_continuing_subword_prefix=""),
        "unsupported": tiny_tokenizer(merges, normalizer={"type": "NFC"}),
        "wordpiece": {"model": {"type": "WordPiece", "vocab": {"a": 0}}},
        "metaspace": tiny_tokenizer(merges, pre_tokenizer={"type": "Metaspace"}),
        "bad_merge": tiny_tokenizer([], model_merges=["a b c", ["x"], "q z"]),
        "bad_id": tiny_tokenizer([], added_tokens=[{"id": -1, "content": "x"}]),
        "bad_regex": tiny_tokenizer(merges, pre_tokenizer={
            "type": "Split", "pattern": {"Regex": "(a"}, "behavior": "Isolated"}),
    }
    for name, value in seeds.items():
        write("tokenizer_json", name, dumps(value) + "\0" + text)
    write("tokenizer_json", "no_text", dumps(seeds["added_tokens"]))
    write("tokenizer_json", "bad_text", dumps(seeds["bytelevel"]).encode() + b"\0ab\xff\xfe\xc3")
    write("tokenizer_json", "not_object", "[]\0text")


def expected_texts(name, count):
    entries = json.loads((TOKENIZERS / name).read_text())
    rng = random.Random(0)
    texts = [e["text"] for e in entries]
    rng.shuffle(texts)
    return texts[:count]


def bpe_encode_seeds():
    for i, text in enumerate(expected_texts("gpt2_expected.json", 40)):
        write("bpe_encode", f"gpt2_expected_{i:02d}", text)
    write("bpe_encode", "endoftext", "a<|endoftext|>b <|endoftext|><|endoftext|>")
    write("bpe_encode", "whitespace", " \t\n\r\n   \u00a0\u3000x  \n\n  ")
    write("bpe_encode", "invalid_utf8", b"ok \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82")
    write("bpe_encode", "long_word", "a" * 600 + " " + "ab" * 300)
    write("bpe_encode", "empty", b"")


def sentencepiece_seeds():
    write("sentencepiece", "tiny_sp_model", (TOKENIZERS / "tiny_sp.model").read_bytes())
    for i, text in enumerate(expected_texts("tiny_sp_expected.json", 8)):
        write("sentencepiece", f"tiny_sp_expected_{i}", text)
    write("sentencepiece", "byte_fallback_text", "Ωmega ✓ \U0001F600 <s> </s> <unk> ▁▁ x")
    write("sentencepiece", "invalid_utf8", b"\xff\xfeabc\xc0\xaf")
    write("sentencepiece", "truncated_model", (TOKENIZERS / "tiny_sp.model").read_bytes()[:700])


# --- requests -------------------------------------------------------------------------------
def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number, wire, payload):
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 2:
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        return key + varint(len(payload)) + payload
    if wire == 5:
        return key + struct.pack("<f", payload)
    if wire == 1:
        return key + struct.pack("<Q", payload)
    raise ValueError(wire)


def generate_request(request_id=None, text=None, ids=None, sampling=b"", stopping=b"",
                     priority=None, logprobs=False, top_logprobs=None, prompt_logprobs=False,
                     packed=True):
    out = b""
    if request_id is not None:
        out += field(1, 2, request_id)
    if text is not None:
        out += field(2, 2, text)
    if ids is not None:
        if packed:
            out += field(3, 2, field(1, 2, b"".join(varint(i) for i in ids)))
        else:
            out += field(3, 2, b"".join(field(1, 0, i) for i in ids))
    if sampling:
        out += field(4, 2, sampling)
    if stopping:
        out += field(5, 2, stopping)
    if priority is not None:
        out += field(6, 0, priority & 0xFFFFFFFFFFFFFFFF)
    if logprobs:
        out += field(7, 0, 1)
    if top_logprobs is not None:
        out += field(8, 0, top_logprobs)
    if prompt_logprobs:
        out += field(9, 0, 1)
    return out


def sampling(temperature=None, top_p=None, top_k=None, min_p=None, rep=None, presence=None,
             frequency=None, seed=None):
    out = b""
    for number, value in ((1, temperature), (2, top_p), (4, min_p), (5, rep), (6, presence),
                          (7, frequency)):
        if value is not None:
            out += field(number, 5, value)
    if top_k is not None:
        out += field(3, 0, top_k)
    if seed is not None:
        out += field(8, 0, seed)
    return out


def stopping(max_tokens=None, min_tokens=None, stop_ids=(), stops=(), ignore_eos=False):
    out = b""
    if max_tokens is not None:
        out += field(1, 0, max_tokens)
    if min_tokens is not None:
        out += field(2, 0, min_tokens)
    if stop_ids:
        out += field(3, 2, b"".join(varint(i) for i in stop_ids))
    for stop in stops:
        out += field(4, 2, stop)
    if ignore_eos:
        out += field(5, 0, 1)
    return out


def generate_request_seeds():
    seeds = {
        "text": generate_request(request_id="req-1", text="In the beginning God created"),
        "ids": generate_request(ids=[464, 3290, 318, 50256], sampling=sampling(temperature=0.0)),
        "ids_unpacked": generate_request(ids=[1, 2, 3], packed=False),
        "full": generate_request(
            request_id="abc", text="Hello, world! 😀",
            sampling=sampling(0.7, 0.9, 40, 0.05, 1.1, 0.5, -0.5, 12345),
            stopping=stopping(32, 2, [50256, 13], ["\n\n", "The end", "😀"], True),
            priority=-3, logprobs=True, top_logprobs=5, prompt_logprobs=True),
        "out_of_range": generate_request(
            ids=[50257], sampling=sampling(float("nan"), 0.0, 2**32 - 1, 2.0, 0.0, 3.0, -3.0),
            stopping=stopping(0, 0, [99999], [""] + ["x" * 300] + ["s"] * 20),
            top_logprobs=21),
        "long_id": generate_request(request_id="r" * 200, ids=[0]),
        "bad_utf8": generate_request(request_id=b"\xff", text=b"ok\xc3"),
        "bad_stop_utf8": generate_request(text="x", stopping=stopping(stops=[b"\xed\xa0\x80"])),
        "empty_text": generate_request(text=""),
        "no_input": generate_request(request_id="x"),
        "long_prompt": generate_request(ids=list(range(100))),
        "long_text": generate_request(text="word " * 60),
        "truncated": generate_request(text="In the beginning")[:-4],
        "wrong_wire_type": field(2, 0, 5) + field(4, 0, 1),
    }
    for name, data in seeds.items():
        write("generate_request", name, data)


def openai_request_seeds():
    seeds = {
        "docs_completion": {"model": "egmla-kjv", "prompt": "In the beginning", "max_tokens": 16,
                            "temperature": 0},
        "docs_stream": {"model": "egmla-kjv", "prompt": "And God said", "max_tokens": 16,
                        "seed": 7, "stream": True, "stream_options": {"include_usage": True}},
        "docs_chat": {"model": "egmla-kjv", "max_tokens": 16, "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Who made the light?"}]},
        "docs_bad_temperature": {"model": "egmla-kjv", "prompt": "In the beginning",
                                 "temperature": 500},
        "completion_all": {"prompt": ["Hello"], "max_tokens": 4, "temperature": 0.5, "top_p": 0.9,
                           "top_k": -1, "min_p": 0.1, "repetition_penalty": 1.2,
                           "presence_penalty": 0.1, "frequency_penalty": -0.1, "seed": -5,
                           "min_tokens": 1, "ignore_eos": True, "stop": ["\n", "end"],
                           "stop_token_ids": [50256], "priority": 2, "n": 1, "best_of": 1,
                           "logit_bias": {}, "echo": True, "logprobs": 3, "suffix": None,
                           "user": "ignored"},
        "completion_ids": {"prompt": [[464, 3290, 318]], "max_tokens": None, "stop": "x"},
        "completion_bad": {"prompt": ["a", "b"], "n": 2, "logprobs": 21, "max_tokens": 0,
                           "stop_token_ids": [-1], "top_k": 2147483648, "suffix": "s",
                           "stream_options": {"include_usage": 1}},
        "completion_bad_ids": {"prompt": [1, -2, 1.5, "x"]},
        "chat_parts": {"messages": [
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": [{"type": "text", "text": "Hi"},
                                         {"type": "text", "text": " there"}]},
            {"role": "assistant", "content": None},
            {"role": "user", "content": "  spaced  "}],
            "max_completion_tokens": 8, "max_tokens": 100, "logprobs": True, "top_logprobs": 2,
            "response_format": {"type": "text"}, "tools": []},
        "chat_bad": {"messages": [{"role": "tool", "content": 3}], "top_logprobs": 2,
                     "tools": [{"type": "function"}], "response_format": {"type": "json_object"}},
        "chat_empty": {"messages": []},
        "chat_image": {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
    }
    for name, value in seeds.items():
        write("openai_request", name, dumps(value))
    write("openai_request", "not_json", '{"prompt": "x",')
    write("openai_request", "not_object", '["prompt"]')
    write("openai_request", "escapes",
          r'{"prompt": "\u0000\ud83d\ude00\n\"<|endoftext|>", "stop": ["\ud83d\ude00"]}')
    write("openai_request", "lone_surrogate", r'{"prompt": "\ud800"}')


def detokenizer_stop_seeds():
    rng = random.Random(20)
    for i in range(24):
        length = rng.choice([4, 16, 64, 200, 600])
        write("detokenizer_stop", f"random_{i:02d}", bytes(rng.randrange(256) for _ in range(length)))


def main():
    config_seeds()
    safetensors_seeds()
    index_seeds()
    tokenizer_json_seeds()
    bpe_encode_seeds()
    sentencepiece_seeds()
    generate_request_seeds()
    openai_request_seeds()
    detokenizer_stop_seeds()


if __name__ == "__main__":
    main()
