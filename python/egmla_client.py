#!/usr/bin/python3
"""Example client of egmla-server (DESIGN §5): streams one generation.

    /usr/bin/python3 python/egmla_client.py --token-ids 1,2,3 --max-tokens 16
    /usr/bin/python3 python/egmla_client.py --seed 7 --temperature 0.8 "Once upon a time"

Prints the text as it arrives (token ids separated by spaces when the model has no tokenizer),
then the Complete summary on stderr. Needs Debian's python3-grpcio and python3-protobuf and the
stubs that `ninja -C build egmla_python_stubs` generates into build/python_stubs (or a directory
given with --stubs, or on PYTHONPATH).

As a library: `stub = connect("localhost:50051")[0]`, then
`tokens, complete = generate(stub, token_ids=[1, 2, 3], max_tokens=8, temperature=0)`.
"""
import argparse
import os
import sys

import grpc

DEFAULT_STUBS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build",
                             "python_stubs")

# Keyword arguments of generate() by the message they go to; any other one goes to the request.
SAMPLING_FIELDS = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty",
                   "presence_penalty", "frequency_penalty", "seed")
STOPPING_FIELDS = ("max_tokens", "min_tokens", "stop_token_ids", "stop_sequences", "ignore_eos")


def load_stubs(stubs_dir=None):
    """Returns (generation_pb2, generation_pb2_grpc) from stubs_dir, PYTHONPATH or the default."""
    if stubs_dir:
        sys.path.insert(0, os.path.abspath(stubs_dir))
    try:
        from egmla.v1 import generation_pb2, generation_pb2_grpc
    except ImportError:
        sys.path.append(os.path.abspath(DEFAULT_STUBS))
        from egmla.v1 import generation_pb2, generation_pb2_grpc
    return generation_pb2, generation_pb2_grpc


def connect(server, api_key=None, tls_ca=None, stubs_dir=None):
    """Returns (stub, metadata): a Generation stub and the metadata every call should carry."""
    _, pb2_grpc = load_stubs(stubs_dir)
    if tls_ca:
        with open(tls_ca, "rb") as f:
            channel = grpc.secure_channel(server, grpc.ssl_channel_credentials(f.read()))
    else:
        channel = grpc.insecure_channel(server)
    metadata = [("authorization", "Bearer " + api_key)] if api_key else []
    return pb2_grpc.GenerationStub(channel), metadata


def generate(stub, request_id="", token_ids=None, text=None, metadata=(), timeout=None,
             on_chunk=None, **fields):
    """Streams one generation; returns (tokens, complete).

    Give token_ids (a list of ints) or text. `fields` are the request's fields by proto name:
    SamplingParams (temperature, top_p, top_k, min_p, *_penalty, seed), StoppingCriteria
    (max_tokens, min_tokens, stop_token_ids, stop_sequences, ignore_eos) and GenerateRequest's own
    (priority, return_logprobs, top_logprobs, return_prompt_logprobs); unset ones keep the
    server's defaults. `on_chunk(chunk)` sees every Chunk as it arrives. `tokens` are all
    generated ids; `complete` is the Complete message (None if the stream had none). Errors
    raise grpc.RpcError.
    """
    pb2, _ = load_stubs()
    request = pb2.GenerateRequest(request_id=request_id)
    if text is not None:
        request.text = text
    else:
        request.token_ids.ids.extend(token_ids)
    for key, value in fields.items():
        if key in SAMPLING_FIELDS:
            setattr(request.sampling, key, value)
        elif key in STOPPING_FIELDS and isinstance(value, (list, tuple)):
            getattr(request.stopping, key).extend(value)
        elif key in STOPPING_FIELDS:
            setattr(request.stopping, key, value)
        else:
            setattr(request, key, value)
    tokens, complete = [], None
    for response in stub.Generate(request, metadata=list(metadata), timeout=timeout):
        if response.HasField("chunk"):
            tokens.extend(response.chunk.token_ids)
            if on_chunk:
                on_chunk(response.chunk)
        else:
            complete = response.complete
    return tokens, complete


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("text", nargs="?", help="the prompt as text (needs a tokenizer)")
    parser.add_argument("--token-ids", help="the prompt as token ids, e.g. 1,2,3")
    parser.add_argument("--server", default="localhost:50051", help="HOST:PORT")
    parser.add_argument("--max-tokens", type=int, default=0, help="0 = the server's default")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--seed", type=int, help="sampling seed (default: the server picks)")
    parser.add_argument("--api-key-file", help="file holding the API key")
    parser.add_argument("--tls-ca", help="PEM root CA: use TLS")
    parser.add_argument("--timeout", type=float, help="deadline in seconds")
    parser.add_argument("--stubs", help="directory of the generated stubs (default: %s)" %
                        os.path.normpath(DEFAULT_STUBS))
    args = parser.parse_args()
    if (args.text is None) == (args.token_ids is None):
        parser.error("give the prompt as --token-ids 1,2,3 or as TEXT")

    api_key = None
    if args.api_key_file:
        with open(args.api_key_file) as f:
            api_key = f.read().strip()
    pb2, _ = load_stubs(args.stubs)
    stub, metadata = connect(args.server, api_key, args.tls_ca)
    fields = {"temperature": args.temperature, "max_tokens": args.max_tokens}
    if args.seed is not None:
        fields["seed"] = args.seed
    token_ids = [int(t) for t in args.token_ids.split(",")] if args.token_ids else None
    printed = []

    def show(chunk, as_text):
        out = chunk.text if as_text else " ".join(map(str, chunk.token_ids))
        if out and printed and not as_text:
            out = " " + out
        if out:
            sys.stdout.write(out)
            sys.stdout.flush()
            printed.append(out)

    try:
        # Text when the model has a tokenizer, else ids (a text prompt implies a tokenizer).
        as_text = args.text is not None or stub.GetModelInfo(
            pb2.GetModelInfoRequest(), metadata=metadata, timeout=args.timeout).has_tokenizer
        _, complete = generate(stub, token_ids=token_ids, text=args.text, metadata=metadata,
                               timeout=args.timeout, on_chunk=lambda c: show(c, as_text),
                               **fields)
    except grpc.RpcError as e:
        if printed:
            print()
        print("egmla_client: %s: %s" % (e.code().name, e.details()), file=sys.stderr)
        return 1
    print()
    if complete is not None:
        reason = pb2.FinishReason.Name(complete.finish_reason).replace("FINISH_REASON_", "")
        stop = " matched_stop=%r" % complete.matched_stop if complete.matched_stop else ""
        print("finish_reason=%s prompt_tokens=%d completion_tokens=%d cached_tokens=%d seed=%d "
              "ttft=%.3fs total=%.3fs%s" %
              (reason, complete.prompt_tokens, complete.completion_tokens, complete.cached_tokens,
               complete.seed, complete.timing.time_to_first_token_seconds,
               complete.timing.total_seconds, stop), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
