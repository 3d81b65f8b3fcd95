-- Fusion state per partition, with the input offsets it reflects (fusion/checkpoint.py).
-- One row per (consumer group, partition); the state is fusion's own JSON (ShardState).
CREATE TABLE IF NOT EXISTS fusion_checkpoints (
    group_id    text NOT NULL,
    shard       integer NOT NULL,
    state       bytea NOT NULL,
    saved_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, shard)
);
