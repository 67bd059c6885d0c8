-- 004: expert labels become events (docs/validation.md): appended, never changed, deleted only
-- with their sample. `seq` orders them in the whole store; AUTOINCREMENT never gives a number
-- twice, not even after a delete.
CREATE TABLE expert_labels (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  sample_id       TEXT NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
  particle_number INTEGER NOT NULL,
  name            TEXT NOT NULL,
  status          TEXT NOT NULL,  -- ExpertStatusName(): validated, dubious, withdrawn
  classification  TEXT NOT NULL,
  author          TEXT NOT NULL,
  created_at      TEXT NOT NULL,  -- ISO 8601 UTC
  undoes          INTEGER,        -- an undo: seq of the event it reverts; NULL otherwise
  restores        INTEGER         -- an undo: seq of the event whose label it restores; NULL: none
);
CREATE INDEX expert_labels_by_particle
  ON expert_labels (sample_id, particle_number, classification, seq);

-- The expert labels of level 3 become the first events, in the order they were written.
INSERT INTO expert_labels (sample_id, particle_number, name, status, classification, author,
                           created_at)
  SELECT sample_id, particle_number, name, 'validated', classification, author, created_at
  FROM labels WHERE source = 'expert' ORDER BY id;
DELETE FROM labels WHERE source = 'expert';

-- Labels that ReplaceLabels replaced (a model's earlier predictions), for LabelHistory. The
-- columns of `labels`, plus when they were replaced.
CREATE TABLE label_history (
  id              INTEGER PRIMARY KEY,
  sample_id       TEXT NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
  particle_number INTEGER NOT NULL,
  name            TEXT NOT NULL,
  source          TEXT NOT NULL,
  classification  TEXT NOT NULL,
  author          TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  probability     REAL,
  top_k           TEXT,
  replaced_at     TEXT NOT NULL   -- ISO 8601 UTC
);
CREATE INDEX label_history_by_particle ON label_history (sample_id, particle_number, id);
-- LabelHistory reads the current labels of one particle too.
CREATE INDEX labels_by_particle ON labels (sample_id, particle_number);
