-- Initial schema. Units are in the column names (µm, µm³, ml, ml/min); see
-- docs/formats/sqlite-schema.md. Never edit a migration that has shipped: add the next number.

CREATE TABLE samples (
  id                    TEXT PRIMARY KEY NOT NULL,
  run_name              TEXT NOT NULL,
  fingerprint           TEXT NOT NULL UNIQUE,
  source_path           TEXT NOT NULL,
  software              TEXT NOT NULL,
  software_version      TEXT NOT NULL,
  instrument_serial     TEXT NOT NULL,
  camera                TEXT NOT NULL,
  magnification         REAL,
  calibration_um_per_px REAL,
  flow_cell             TEXT NOT NULL,
  flow_cell_depth_um    REAL,
  flow_rate_ml_per_min  REAL,
  run_start_utc         TEXT NOT NULL,
  run_end_utc           TEXT NOT NULL,
  run_start_local       TEXT NOT NULL,
  frames_total          INTEGER,
  frames_used           INTEGER,
  volume_imaged_ml      REAL,
  volume_source         TEXT NOT NULL,  -- VolumeSourceName(): none, run_summary, ...
  volume_processed_ml   REAL,
  dilution_factor       REAL NOT NULL,
  particle_count        INTEGER NOT NULL,
  particles_per_ml      REAL,
  measurement_names     TEXT NOT NULL,  -- JSON array of strings
  context               TEXT NOT NULL,  -- JSON array of [section, key, value], file order
  summary               TEXT NOT NULL,  -- same shape as context
  notes                 TEXT NOT NULL,
  classifications       TEXT NOT NULL,  -- JSON array of strings
  warnings              TEXT NOT NULL,  -- JSON array of strings
  ingested_at           TEXT NOT NULL,  -- ISO 8601 UTC
  phytoflow_version     TEXT NOT NULL
);
CREATE INDEX samples_by_ingested_at ON samples (ingested_at, id);

CREATE TABLE sample_files (
  sample_id  TEXT NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
  position   INTEGER NOT NULL,  -- order of Sample::files
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  media_type TEXT NOT NULL,
  bytes      BLOB NOT NULL,
  PRIMARY KEY (sample_id, position)
);

CREATE TABLE particles (
  sample_id           TEXT NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
  number              INTEGER NOT NULL,
  guid                TEXT,           -- NULL when the list has none
  collage_file        TEXT NOT NULL,
  image_x             INTEGER NOT NULL,
  image_y             INTEGER NOT NULL,
  image_w             INTEGER NOT NULL,
  image_h             INTEGER NOT NULL,
  particles_per_chain INTEGER NOT NULL,
  timestamp           TEXT NOT NULL,
  esd_um              REAL,           -- NULL = missing (NaN)
  abd_um              REAL,
  biovolume_esd_um3   REAL,
  biovolume_abd_um3   REAL,
  measurements        TEXT NOT NULL,  -- JSON object {name: number|null}
  outlines            TEXT,           -- "x,y,directions" per line; NULL when none
  PRIMARY KEY (sample_id, number)
);
CREATE INDEX particles_by_guid ON particles (guid);

-- Images live apart so that scans without them never read their pages.
CREATE TABLE particle_images (
  sample_id TEXT NOT NULL,
  number    INTEGER NOT NULL,
  image_png BLOB,
  mask_png  BLOB,
  PRIMARY KEY (sample_id, number),
  FOREIGN KEY (sample_id, number) REFERENCES particles (sample_id, number) ON DELETE CASCADE
);

-- particle_number has no foreign key: a classification may name a particle the reader skipped.
CREATE TABLE labels (
  id              INTEGER PRIMARY KEY,
  sample_id       TEXT NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
  particle_number INTEGER NOT NULL,
  name            TEXT NOT NULL,
  source          TEXT NOT NULL,
  classification  TEXT NOT NULL,
  author          TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  probability     REAL
);
CREATE INDEX labels_by_classification ON labels (sample_id, source, classification, name);
