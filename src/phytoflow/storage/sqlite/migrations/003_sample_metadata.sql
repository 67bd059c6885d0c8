-- 003: what users say about a sample (core/sample_metadata.h): where, when and how it was taken.
-- One row per sample that has any metadata; NULL = not given. Units are in the column names.
CREATE TABLE sample_metadata (
  sample_id            TEXT PRIMARY KEY NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
  station              TEXT,
  campaign             TEXT,
  latitude             REAL,  -- decimal degrees WGS84, -90..90
  longitude            REAL,  -- decimal degrees WGS84, -180..180
  sampled_at           TEXT,  -- ISO 8601 UTC: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]Z
  depth_min_m          REAL,
  depth_max_m          REAL,
  sampling_protocol    TEXT,
  gear                 TEXT,
  water_body           TEXT,
  country_code         TEXT,  -- ISO 3166-1 alpha-2
  dilution_factor      REAL,  -- applied before the FlowCam, beyond samples.dilution_factor
  concentration_factor REAL,  -- seawater volume per volume of concentrate
  temperature_c        REAL,
  salinity             REAL   -- practical salinity
);

-- Other environmental values, one row per name (unit in the name: chlorophyll_ug_per_l).
CREATE TABLE sample_environment (
  sample_id TEXT NOT NULL REFERENCES samples (id) ON DELETE CASCADE,
  name      TEXT NOT NULL,
  value     REAL NOT NULL,
  PRIMARY KEY (sample_id, name)
);
