#pragma once

// Use cases of expert validation: give particles a class, mark them dubious, undo the newest
// change of a particle, and read a particle's history. Validations are events that the store
// appends and never changes (docs/validation.md). These functions check a request, write it as
// one batch (all or nothing) and report what was written; the CLI (`phytoflow validate`,
// `phytoflow history`) and the HTTP API call them.
//
//   ValidationReport report = ValidateParticles(
//       store, "run-1", {.particle_numbers = {1, 5, 6}, .label = "Dolichospermum"}, "Jane Doe");
//   UndoValidation(store, "run-1", 5, "Jane Doe");  // particle 5 is as it was before
//   ParticleHistoryReport history = ParticleHistory(store, "run-1", 5);
//
// Errors, for the HTTP status they map to: Error{kNotFound} (404) for an unknown sample or
// particle, Error{kInvalidInput} (422) for a request that cannot be right (no author, no class,
// an unknown class), Error{kConflict} (409) for an undo that no longer fits what is stored.

#include "phytoflow/core/label.h"
#include "phytoflow/products/composition.h"
#include "phytoflow/products/taxonomy.h"
#include "phytoflow/storage/store.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// What an expert says about some particles of one sample.
struct ValidationRequest {
  std::vector<int64_t> particle_numbers;  // at least one; a repeated number counts once
  std::string label;     // the class; required unless `dubious` or `accept_current`
  bool dubious = false;  // mark the particles dubious; `label`, if given, is the class doubted
  // Validate each particle with the class it counts as now: the model's prediction (for an
  // uncertain particle its best guess), or its newest expert label. What the gallery's `v` does
  // for a selection; a particle without any class is refused. Excludes `label` and `dubious`.
  bool accept_current = false;
  // Accept a class that neither the taxonomy nor the model knows (a new class).
  bool allow_new_class = false;
};

struct ValidationOptions {
  const Taxonomy* taxonomy = nullptr;  // the classes known; nullptr: DefaultTaxonomy()
  // More known classes, e.g. the classes of the model in use (ModelInfo::ClassNames()). The
  // classes that the sample's model predictions name (labels and top-k) are known anyway.
  std::vector<std::string> model_classes;
  std::string classification = kPhytoflowClassification;  // the events' classification
  std::string created_at;  // ISO 8601 UTC; empty: now, to the microsecond
};

// What a validation or an undo wrote.
struct ValidationReport {
  std::string sample_id;
  std::vector<Label> events;  // as stored, with their sequence numbers, by particle number
};

// Gives every particle of `request` the class `request.label` (its taxonomy spelling when the
// taxonomy knows it under another case or with spaces for '_'), or marks them dubious, as one
// batch of events by `author`: all particles or none; with `accept_current` each particle keeps
// its current class. Throws Error{kInvalidInput} without an author, without particles, with more
// than kMaxExpertLabelsPerAppend particles, without a class (unless dubious or accept_current),
// with accept_current for a particle that has no class, or together with a label or dubious, for
// the class "dubious", or for a class that neither the taxonomy nor the model knows unless
// `allow_new_class`; Error{kNotFound} for an unknown sample or a particle number it does not have
// (then nothing is written).
ValidationReport ValidateParticles(Store& store,
                                   const std::string& sample_id,
                                   const ValidationRequest& request,
                                   const std::string& author,
                                   const ValidationOptions& options = {});

struct UndoOptions {
  // The sequence of the event the caller means to undo (what it showed the user); 0: the
  // particle's newest event, whatever it is. Another value than the newest is a conflict.
  int64_t expected_sequence = 0;
  std::string created_at;  // ISO 8601 UTC; empty: now, to the microsecond
};

// Undoes the particle's newest expert event with a new event by `author` that gives the
// event's classification back the label it had before (none: kWithdrawn). So the particle counts
// as it did before that event; undoing an undo redoes. Throws Error{kNotFound} for an unknown
// sample or particle, Error{kInvalidInput} without an author, Error{kConflict} when the particle
// has no expert event, when its newest is not `expected_sequence`, or when another change of the
// particle came first (then nothing is written).
ValidationReport UndoValidation(Store& store,
                                const std::string& sample_id,
                                int64_t particle_number,
                                const std::string& author,
                                const UndoOptions& options = {});

// What a label of a particle's history is: "label" (any source but expert: a prediction, a
// VisualSpreadsheet or EcoTaxa label), "validate", "dubious", "undo" or "withdraw" (an expert
// label taken back without an undo, e.g. by an EcoTaxa import).
std::string_view HistoryEventKind(const Label& label);

struct HistoryEntry {
  Label label;
  std::string_view kind;  // HistoryEventKind(label)
  bool current = false;   // one of the particle's labels now (Store::Labels)
};

struct ParticleHistoryReport {
  std::string sample_id;
  int64_t particle_number = 0;
  std::vector<HistoryEntry> entries;  // in Store::LabelHistory order
  // What the particle counts as now: ResolveLabels with the default choice (the newest expert
  // label, else the newest model's prediction).
  ResolvedLabel resolved;
  // The sequence of the newest expert event, which UndoValidation would undo (0: none). Give it
  // back as UndoOptions::expected_sequence to undo only what was shown.
  int64_t newest_sequence = 0;
};

// Every label the particle has had, and what it counts as now. Throws Error{kNotFound} for an
// unknown sample or a particle it does not have.
ParticleHistoryReport ParticleHistory(const Store& store,
                                      const std::string& sample_id,
                                      int64_t particle_number);

}  // namespace phytoflow
