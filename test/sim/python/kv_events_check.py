"""Independent check of KV events against vLLM's published wire format.

Written from vLLM's vllm/distributed/kv_events.py (not from the simulator's code):
- PUB multipart [topic, seq as 8-byte big-endian, msgpack payload], seq counting from 0;
- payload KVEventBatch, positional: [ts (float), events (list), data_parallel_rank (int)];
- each event a tagged union: current vLLM a map whose first key is "type" followed by the struct's
  fields in declaration order (fields equal to their default omitted); vLLM <= 0.23 an array
  [tag, fields...] in the same order;
- replay: a ROUTER socket; a client sends the start seq (8 bytes, big-endian) and receives
  (seq, payload) for every buffered batch from there, then (-1, b"").

Usage: kv_events_check.py PUB_ENDPOINT REPLAY_ENDPOINT TOPIC LAYOUT RANK SECONDS
Prints "subscribed" once the SUB socket is connected, then one JSON summary line when it has seen
BlockStored, BlockRemoved and AllBlocksCleared (or SECONDS passed).
"""
import json
import sys
import time

import msgpack
import zmq

STORED_FIELDS = [
    "block_hashes",
    "parent_block_hash",
    "token_ids",
    "block_size",
    "lora_id",
    "medium",
    "lora_name",
    "extra_keys",
    "group_idx",
    "kv_cache_spec_kind",
    "kv_cache_spec_sliding_window",
]
STORED_REQUIRED = STORED_FIELDS[:7]  # no defaults in vLLM: always encoded
REMOVED_FIELDS = ["block_hashes", "medium", "group_idx"]
REMOVED_REQUIRED = REMOVED_FIELDS[:2]


def is_hash(h):
    return isinstance(h, (bytes, int))


def check_order(keys, fields, required, errors, what):
    expected = [f for f in fields if f in keys]
    if keys != expected:
        errors.append(f"{what}: field order {keys} != {expected}")
    for f in required:
        if f not in keys:
            errors.append(f"{what}: required field {f} missing")
    unknown = [k for k in keys if k not in fields]
    if unknown:
        errors.append(f"{what}: unknown fields {unknown}")


def normalise(ev, layout, errors):
    """Returns (tag, dict of fields) for either layout, checking the layout itself."""
    if layout == "map":
        if not isinstance(ev, dict):
            errors.append(f"event is not a map: {type(ev).__name__}")
            return None, {}
        keys = list(ev.keys())
        if not keys or keys[0] != "type":
            errors.append(f"first key is not 'type': {keys[:1]}")
        tag = ev.get("type")
        rest = [k for k in keys if k != "type"]
        if tag == "BlockStored":
            check_order(rest, STORED_FIELDS, STORED_REQUIRED, errors, "BlockStored")
        elif tag == "BlockRemoved":
            check_order(rest, REMOVED_FIELDS, REMOVED_REQUIRED, errors, "BlockRemoved")
        elif tag == "AllBlocksCleared":
            if rest:
                errors.append(f"AllBlocksCleared has fields {rest}")
        return tag, ev
    if not isinstance(ev, list) or not ev or not isinstance(ev[0], str):
        errors.append(f"event is not a tagged array: {ev!r:.80}")
        return None, {}
    tag = ev[0]
    fields = {"BlockStored": STORED_FIELDS, "BlockRemoved": REMOVED_FIELDS, "AllBlocksCleared": []}.get(tag)
    if fields is None:
        errors.append(f"unknown tag {tag}")
        return tag, {}
    required = {"BlockStored": STORED_REQUIRED, "BlockRemoved": REMOVED_REQUIRED}.get(tag, [])
    if len(ev) - 1 < len(required) or len(ev) - 1 > len(fields):
        errors.append(f"{tag}: {len(ev) - 1} positional fields")
    return tag, dict(zip(fields, ev[1:]))


def check_batch(payload, layout, rank, errors, stats, stored):
    batch = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    if not isinstance(batch, list) or len(batch) not in (2, 3):
        errors.append(f"batch is not [ts, events, dp_rank]: {type(batch).__name__}")
        return
    ts, events = batch[0], batch[1]
    if not isinstance(ts, (float, int)) or abs(ts - time.time()) > 600:
        errors.append(f"ts {ts!r} is not a recent unix time")
    if len(batch) == 3 and batch[2] != rank:
        errors.append(f"data_parallel_rank {batch[2]} != {rank}")
    for ev in events:
        tag, f = normalise(ev, layout, errors)
        if tag == "BlockStored":
            stats["stored"] += 1
            hashes = f.get("block_hashes", [])
            bs = f.get("block_size")
            if not hashes or not all(is_hash(h) for h in hashes):
                errors.append("BlockStored.block_hashes empty or not hashes")
            if not isinstance(bs, int) or bs < 1:
                errors.append(f"BlockStored.block_size {bs!r}")
            elif len(f.get("token_ids", [])) != len(hashes) * bs:
                errors.append("BlockStored.token_ids is not block_size tokens per block")
            parent = f.get("parent_block_hash")
            if parent is not None and not is_hash(parent):
                errors.append("BlockStored.parent_block_hash is not a hash")
            if parent is not None and parent in stored:
                stats["chained"] += 1
            if f.get("medium") != "GPU":
                errors.append(f"BlockStored.medium {f.get('medium')!r}")
            ek = f.get("extra_keys")
            if ek is not None and len(ek) != len(hashes):
                errors.append("BlockStored.extra_keys is not one entry per block")
            for h in hashes:
                stored.add(h)
            stats["stored_blocks"] += len(hashes)
        elif tag == "BlockRemoved":
            stats["removed"] += 1
            hashes = f.get("block_hashes", [])
            if not hashes or not all(is_hash(h) for h in hashes):
                errors.append("BlockRemoved.block_hashes empty or not hashes")
            stats["removed_known"] += sum(1 for h in hashes if h in stored)
            stats["removed_blocks"] += len(hashes)
        elif tag == "AllBlocksCleared":
            stats["cleared"] += 1
        else:
            errors.append(f"unknown event type {tag!r}")


def main():
    pub, replay, topic, layout, rank, seconds = sys.argv[1:7]
    rank = int(rank)
    deadline = time.time() + float(seconds)
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
    sub.connect(pub)
    # the slow-joiner gap: wait until a probe subscription is live (the PUB drops before that)
    time.sleep(0.3)
    print("subscribed", flush=True)
    errors, stored, seen = [], set(), []
    stats = dict(stored=0, stored_blocks=0, chained=0, removed=0, removed_blocks=0, removed_known=0, cleared=0)
    expected_seq = None
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    while time.time() < deadline and not (stats["stored"] and stats["removed"] and stats["cleared"]):
        if not poller.poll(100):
            continue
        frames = sub.recv_multipart()
        if len(frames) != 3:
            errors.append(f"{len(frames)} frames")
            continue
        t, seq_bytes, payload = frames
        if t != topic.encode():
            errors.append(f"topic {t!r}")
        if len(seq_bytes) != 8:
            errors.append(f"seq frame of {len(seq_bytes)} bytes")
            continue
        seq = int.from_bytes(seq_bytes, "big", signed=True)
        if expected_seq is not None and seq != expected_seq:
            errors.append(f"seq {seq} after {expected_seq - 1}")
        expected_seq = seq + 1
        seen.append((seq, payload))
        check_batch(payload, layout, rank, errors, stats, stored)
    replayed = {"requested": False}
    if replay != "none" and seen:
        req = ctx.socket(zmq.DEALER)
        req.connect(replay)
        start = seen[0][0]
        req.send_multipart([b"", start.to_bytes(8, "big")])
        got = []
        rp = zmq.Poller()
        rp.register(req, zmq.POLLIN)
        while time.time() < deadline + 5:
            if not rp.poll(200):
                continue
            frames = req.recv_multipart()
            if len(frames) != 3 or frames[0] != b"":
                errors.append(f"replay reply of {len(frames)} frames")
                break
            seq = int.from_bytes(frames[1], "big", signed=True)
            if seq == -1:
                if frames[2] != b"":
                    errors.append("replay end marker carries a payload")
                break
            got.append((seq, frames[2]))
        live = dict(seen)
        matches = sum(1 for s, p in got if s in live and live[s] == p)
        replayed = {"requested": True, "batches": len(got), "matching": matches, "first": got[0][0] if got else None}
        req.close(0)
    sub.close(0)
    ctx.term()
    print(json.dumps({"batches": len(seen), "first_seq": seen[0][0] if seen else None, "stats": stats,
                      "replay": replayed, "errors": errors[:20]}), flush=True)


if __name__ == "__main__":
    main()
