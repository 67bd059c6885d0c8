#pragma once

// Use case: copy every sample of one store into another (SQLite ↔ MongoDB, or between two of a
// kind), and prove that the copy is whole.
//
//   StoreCopyReport report = CopyStore(*OpenStore("lab.db"), *OpenStore("mongodb://h/db"), {});
//
// Each sample goes through one SampleWriter, so it appears in the target whole or not at all: a
// failure keeps the samples copied before it, and running the copy again continues, because a
// sample whose fingerprint the target already holds is skipped. Afterwards every copied sample is
// read back from both stores and compared by counts and a checksum over the sample (metadata and
// files included), its particles (with images, masks and outlines) and its labels.

#include "phytoflow/storage/store.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace phytoflow {

// A sample left out because the target already holds its particles.
struct StoreCopySkip {
  std::string sample_id;    // in the source
  std::string existing_id;  // the target's sample with the same fingerprint
};

struct StoreCopyReport {
  std::vector<std::string> copied;  // sample ids, in the source's ListSamples order
  std::vector<StoreCopySkip> skipped;
  // Of the copied samples, counted when reading them back from the target.
  int64_t particles = 0;
  int64_t images = 0;  // particles with a vignette
  int64_t masks = 0;   // particles with a mask
  int64_t labels = 0;
  std::string checksum;  // 16 hex digits over the copied samples, equal in both stores
};

struct StoreCopyOptions {
  // Called after each sample is committed in the target, with its particle count.
  std::function<void(const std::string& sample_id, int64_t particles)> on_sample_copied;
};

// Copies the samples of `from` that `to` does not hold yet (by fingerprint) and verifies them.
// Throws Error{kInvalidInput} when both are the same object, Error{kConflict} before writing
// anything when `to` has a sample with the id of one to copy but other particles, and
// Error{kInternal} when a copied sample reads back differently.
StoreCopyReport CopyStore(const Store& from, Store& to, const StoreCopyOptions& options = {});

}  // namespace phytoflow
