-- 002: a model prediction keeps its top-k classes, as a JSON array of [name, probability]
-- pairs, best first. NULL for labels that are not predictions.
ALTER TABLE labels ADD COLUMN top_k TEXT;
