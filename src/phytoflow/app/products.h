#pragma once

// Use cases that turn stored samples into data products: the composition report, the Darwin
// Core Archive and the EcoTaxa package, and the import of EcoTaxa labels.
//
//   auto composition = ComposeSample(store, "run-1", {.taxonomy = &DefaultTaxonomy()});
//   ExportDarwinCore(store, {"run-1"}, dataset, "out/dwca.zip", options);

#include "phytoflow/products/composition.h"
#include "phytoflow/products/darwin_core.h"
#include "phytoflow/products/taxonomy.h"
#include "phytoflow/storage/store.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace phytoflow {

struct ComposeOptions {
  const Taxonomy* taxonomy = nullptr;  // required
  LabelChoice labels;
  CompositionOptions composition;  // confusion matrix for corrected abundances, carbon rules
};

// Reads the sample, its particles (without images) and labels, and computes its composition.
// Throws Error{kNotFound} for an unknown sample.
SampleComposition ComposeSample(const Store& store,
                                const std::string& sample_id,
                                const ComposeOptions& options);

struct DarwinCoreExportOptions {
  ComposeOptions compose;
  std::string model_reference;  // URL or DOI of the model card, for identificationReferences
};

struct DarwinCoreExportReport {
  int64_t samples = 0;
  int64_t events = 0;
  int64_t occurrences = 0;
  int64_t measurements = 0;
  // Living classes left out for want of an AphiaID, and the compositions' own warnings.
  std::vector<std::string> warnings;
};

// Writes a Darwin Core Archive of the samples to `out` (atomically; a repeated id counts once).
// An empty dataset.pub_date becomes today's UTC date. Throws Error{kNotFound} for an unknown
// sample, and Error{kInvalidInput} before writing anything if a sample lacks what OBIS requires
// (location, time, volume: checked before any composition is computed) or uses a living class
// the taxonomy does not know.
DarwinCoreExportReport ExportDarwinCore(const Store& store,
                                        const std::vector<std::string>& sample_ids,
                                        const DatasetDescription& dataset,
                                        const std::filesystem::path& out,
                                        const DarwinCoreExportOptions& options);

struct EcoTaxaExportReport {
  int64_t objects = 0;        // rows of the TSV, each with its vignette
  int64_t without_image = 0;  // particles left out: EcoTaxa needs an image per object
};

// Writes the EcoTaxa import package of one sample as a zip: ecotaxa_<sample id>.tsv and one PNG
// vignette per object (EcoTaxaImageName). Throws Error{kNotFound} for an unknown sample.
EcoTaxaExportReport ExportEcoTaxa(const Store& store,
                                  const std::string& sample_id,
                                  const std::filesystem::path& out,
                                  const LabelChoice& labels);

struct EcoTaxaUnmatched {
  std::string file;
  int line = 0;
  std::string object_id;
};

struct EcoTaxaImportReport {
  int64_t rows = 0;
  int64_t validated = 0;  // stored as expert labels
  int64_t predicted = 0;  // stored as EcoTaxa predictions
  int64_t skipped = 0;    // matched rows without a category or with another status ("dubious")
  std::vector<std::string> samples;  // sample ids with matched rows (their labels rewritten)
  std::vector<EcoTaxaUnmatched> unmatched;
};

// Reads an EcoTaxa export (every *.tsv of a .zip or folder, or one .tsv) and stores its labels:
// validated rows as source "expert" (classification "ecotaxa"), predicted rows as source
// "ecotaxa", both with classification "ecotaxa". Rows are matched to stored particles by object
// id, else by FlowCam GUID. A row sets the EcoTaxa labels of its particle (the last row wins; a
// dubious or uncategorised row withdraws them); particles no row names keep theirs, so an export
// of part of a sample adds to earlier imports and importing the same export twice changes
// nothing. Validated rows are appended as expert events (Store::AppendExpertLabels, only where
// the class or annotator changed, so the expert history is kept); predicted rows replace the
// sample's "ecotaxa" predictions with Store::ReplaceLabels. Every
// TSV is parsed before anything is written. Unmatched rows are reported, not fatal. Throws
// Error{kNotFound} for a missing input, Error{kInvalidInput} when it holds no .tsv or a malformed
// one.
EcoTaxaImportReport ImportEcoTaxa(Store& store, const std::filesystem::path& input);

}  // namespace phytoflow
