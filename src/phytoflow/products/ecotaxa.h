#pragma once

// EcoTaxa exchange (https://ecotaxa.obs-vlfr.fr): the import TSV (`ecotaxa_<sample>.tsv`, a
// header row, a typed second row of [t]/[f], one row per object) written beside the vignettes,
// and the reading of EcoTaxa's TSV exports back into labels. Format: docs/formats/ecotaxa.md.

#include "phytoflow/core/particle.h"
#include "phytoflow/core/sample.h"
#include "phytoflow/products/composition.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace phytoflow {

// EcoTaxa's object id of a particle: "<sample id>_<particle number>".
std::string EcoTaxaObjectId(const std::string& sample_id, int64_t particle_number);
// Image file name inside the package: "<object id>.png".
std::string EcoTaxaImageName(const std::string& sample_id, int64_t particle_number);

// The import TSV of one sample: object_*, acq_*, sample_*, process_* columns; the label of each
// particle as object_annotation_category with status "validated" or "predicted" (uncertain and
// unlabelled particles have none), its measurements as object_ fields.
std::string EcoTaxaTsv(const Sample& sample,
                       std::span<const Particle> particles,
                       std::span<const ResolvedLabel> labels);

// One object row of an EcoTaxa TSV.
struct EcoTaxaRow {
  int line = 0;  // 1-based line in the file
  std::string object_id;
  std::string guid;          // object_flowcam_guid when present
  std::string image_file;    // img_file_name
  std::string status;        // "validated", "predicted", "dubious", or empty
  std::string category;      // object_annotation_category (display name)
  std::string hierarchy;     // object_annotation_hierarchy when present
  std::string annotator;     // object_annotation_person_name
  std::string annotated_at;  // ISO 8601 from object_annotation_date/_time, when present
};

// Parses an EcoTaxa TSV (export or import form: the typed row is optional). `source` names the
// file in errors; throws Error{kInvalidInput} for a missing object_id column or a row with the
// wrong number of fields ("file:line").
std::vector<EcoTaxaRow> ParseEcoTaxaTsv(const std::string& text, const std::string& source);

}  // namespace phytoflow
