#pragma once

// The Store interface: where samples, particles, images and labels live. Every backend (the
// embedded SQLite store, MongoDB) implements it, and only the backend knows its query language.
//
//   std::unique_ptr<Store> store = OpenStore("phytoflow.db");
//   auto writer = store->BeginSample(sample, WriteMode::kCreate);
//   writer->AddParticles(batch);   // as many batches as needed
//   writer->AddLabels(labels);
//   writer->Commit(sample);        // nothing is visible before this; a destroyed writer
//                                  // that was not committed leaves the store as it was

#include "phytoflow/core/label.h"
#include "phytoflow/core/particle.h"
#include "phytoflow/core/sample.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace phytoflow {

// The most expert labels one AppendExpertLabels call takes (a MongoDB document holds the batch).
inline constexpr size_t kMaxExpertLabelsPerAppend = 20000;

enum class WriteMode {
  kCreate,   // the sample id must be new
  kReplace,  // an existing sample with this id is removed in the same transaction
};

// One atomic write of a whole sample. Not thread-safe; one open writer per store at a time.
class SampleWriter {
 public:
  virtual ~SampleWriter() = default;  // rolls back unless Commit() succeeded

  // Adds particles (with images and outlines) of the sample being written.
  virtual void AddParticles(std::span<const Particle> particles) = 0;
  // Adds labels; each names a particle added before or after, by its number. Expert labels are
  // added as events in the order given, with new sequence numbers; their `undoes` and `restores`
  // are mapped to the new numbers of the events given earlier to this writer (0 when not given),
  // so a copied history stays whole.
  virtual void AddLabels(std::span<const Label> labels) = 0;
  // Stores the final sample metadata (counts and warnings may have changed while streaming; the
  // user's Sample::metadata is written here too) and makes everything visible at once. Throws if
  // the store cannot commit; then nothing changed.
  virtual void Commit(const Sample& sample) = 0;
};

// What ScanParticles reads.
struct ParticleScan {
  bool images = false;    // fill image_png and mask_png
  bool outlines = false;  // fill outlines
  // Fill measurements (every numeric field of the list). Off: `measurements` is left empty,
  // which saves decoding them where only sizes and labels count (composition, indicators).
  bool measurements = true;
  // Only the particles whose number is in [first_number, last_number]: one particle, or a block
  // of them, read through the index instead of the whole sample.
  int64_t first_number = std::numeric_limits<int64_t>::min();
  int64_t last_number = std::numeric_limits<int64_t>::max();
};

class Store {
 public:
  virtual ~Store() = default;

  // Starts writing `sample` (its id, fingerprint and metadata). Throws Error{kConflict} if
  // mode is kCreate and the id exists.
  virtual std::unique_ptr<SampleWriter> BeginSample(const Sample& sample, WriteMode mode) = 0;

  // All samples, oldest first, without their particles, context or files.
  virtual std::vector<Sample> ListSamples() const = 0;
  // The whole sample metadata, or nullopt if there is no sample with this id.
  virtual std::optional<Sample> FindSample(const std::string& sample_id) const = 0;
  // The sample whose particles have this fingerprint, or nullopt.
  virtual std::optional<Sample> FindSampleByFingerprint(const std::string& fingerprint) const = 0;

  // Calls `visit` for each particle of the sample in list order (by number).
  virtual void ScanParticles(const std::string& sample_id,
                             const ParticleScan& what,
                             const std::function<void(const Particle&)>& visit) const = 0;
  // The sample's current labels, ordered by particle number; for each particle, first the labels
  // of the other sources in the order they were written, then its current expert labels by
  // sequence. The current expert labels are, per classification, its newest event unless that
  // event is kWithdrawn (docs/validation.md). Empty for an unknown sample.
  virtual std::vector<Label> Labels(const std::string& sample_id) const = 0;
  // Particles per label for each classification of the sample, counted over Labels(), ordered by
  // source, classification and name (bytewise). Dubious expert labels count under kDubiousLabel.
  virtual std::vector<LabelCount> CountLabels(const std::string& sample_id) const = 0;
  // Every label the particle has had in this sample: first the labels of the other sources,
  // replaced ones (a model's earlier predictions) included, ordered by created_at (bytewise),
  // replaced before current, then in the order they were written; then every expert event, by
  // sequence. Empty for an unknown sample or particle. A sample replaced by a new write
  // (WriteMode::kReplace) or deleted starts with no history.
  virtual std::vector<Label> LabelHistory(const std::string& sample_id,
                                          int64_t particle_number) const = 0;

  // Replaces, in one transaction, every label of the sample with this source and
  // classification by `labels` (whose source and classification must match): how a model's
  // predictions are rewritten without touching other labels, such as an expert's. The replaced
  // labels stay in LabelHistory. Throws Error{kInvalidInput} for source "expert" (expert labels
  // are appended, never replaced: AppendExpertLabels), Error{kNotFound} for an unknown sample,
  // Error{kConflict} while a sample is being written.
  virtual void ReplaceLabels(const std::string& sample_id,
                             const std::string& source,
                             const std::string& classification,
                             std::span<const Label> labels) = 0;

  // Appends expert events (source "expert") to the sample, all or none: a bulk relabel is one
  // call. The store gives each its sequence number, in the order given (a `sequence` given is
  // ignored), and returns them; a concurrent append gets other numbers, and the larger one wins
  // (docs/validation.md). An undo (undoes != 0) must revert its particle's newest expert event,
  // counting the events before it in `labels`. Throws, and writes nothing:
  // Error{kInvalidInput} for a label of another source or more than kMaxExpertLabelsPerAppend
  // labels; Error{kNotFound} for an unknown sample or a particle number that is not one of its
  // particles; Error{kConflict} for an undo of an event that is not the newest, while a sample is
  // being written to this store, or (MongoDB) when another process replaced or deleted the sample
  // meanwhile. SQLite checks the undo in the write transaction; MongoDB just before its
  // one-document insert.
  virtual std::vector<int64_t> AppendExpertLabels(const std::string& sample_id,
                                                  std::span<const Label> labels) = 0;

  // Replaces the sample's metadata (Sample::metadata: station, time, place, environment) as a
  // whole, in one transaction; merging with what is stored is the caller's job. Nothing else of
  // the sample changes. Throws Error{kNotFound} for an unknown sample, Error{kConflict} while a
  // sample is being written.
  virtual void UpdateSampleMetadata(const std::string& sample_id,
                                    const SampleMetadata& metadata) = 0;

  // Removes a sample and everything that belongs to it. Returns false if it did not exist.
  virtual bool DeleteSample(const std::string& sample_id) = 0;
};

}  // namespace phytoflow
