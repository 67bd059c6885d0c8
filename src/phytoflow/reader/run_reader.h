#pragma once

// Reads one FlowCam run in two passes, so memory stays flat however many particles it has:
//
//   RunReader run(files, {.strict = false});   // pass 1: small files + the whole list, checked
//   Sample sample = run.Metadata();            // volume, count, fingerprint, context, ...
//   std::vector<Label> labels = run.Labels();  // from the .cla
//   std::vector<Particle> batch(256);
//   while (size_t n = run.NextBatch(batch)) { ... }  // pass 2: with image, mask and outlines
//   run.Problems();                            // what had to be worked around
//
// A malformed list throws Error{kInvalidInput} from the constructor, naming file, line and
// field, before anything is written anywhere.

#include "phytoflow/core/diagnostic.h"
#include "phytoflow/core/label.h"
#include "phytoflow/core/parallel.h"
#include "phytoflow/core/particle.h"
#include "phytoflow/core/sample.h"
#include "phytoflow/imaging/image.h"
#include "phytoflow/reader/classification_reader.h"
#include "phytoflow/reader/collage_loader.h"
#include "phytoflow/reader/context_reader.h"
#include "phytoflow/reader/export_source.h"
#include "phytoflow/reader/list_reader.h"
#include "phytoflow/reader/outline_reader.h"

#include <cstdint>
#include <fstream>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace phytoflow {

struct RunReadOptions {
  bool strict = false;  // a missing or unreadable collage ends the read instead of a warning
  bool images = true;   // cut vignettes and masks (false: measurements only)
  int threads = DefaultThreadCount();  // for PNG encoding; pages are decoded on one more
};

class RunReader {
 public:
  RunReader(RunFiles files, RunReadOptions options);
  ~RunReader();

  // Everything known about the run after pass 1 (id and ingested_at are left to the caller).
  const Sample& Metadata() const { return sample_; }
  // One label per particle and classification of the .cla.
  std::vector<Label> Labels() const;
  // The same labels, handed out `batch_size` at a time so memory stays flat for big runs.
  void VisitLabels(size_t batch_size,
                   const std::function<void(std::span<const Label>)>& visit) const;
  const std::vector<Classification>& Classifications() const { return classifications_; }

  // Pass 2: fills `batch` with the next particles, with vignettes, masks and outlines (the
  // PNGs encoded in parallel), and returns how many it filled; 0 at the end.
  size_t NextBatch(std::span<Particle> batch);
  // Pass 2, one particle at a time; false at the end.
  bool NextParticle(Particle& particle);

  // Warnings collected so far (pass 1 and 2).
  const Diagnostics& Problems() const { return diagnostics_; }
  // Particles that have no image because their collage is missing or broken, or their box
  // lies outside it.
  int64_t ParticlesWithoutImage() const { return particles_without_image_; }

 private:
  void ReadSmallFiles();
  void ScanList();
  std::unique_ptr<ParticleTableReader> OpenList(std::ifstream& stream) const;
  void CompareWithCsv();
  void CutImages(const Particle& particle, Image& crop, Image& mask_crop);
  void LoadCollage(const std::string& name);
  void ReportEndOfList();

  RunFiles files_;
  RunReadOptions options_;
  Sample sample_;
  std::vector<Classification> classifications_;
  Diagnostics diagnostics_;
  KeyValueFile context_;
  KeyValueFile run_summary_;
  KeyValueFile summary_csv_;
  std::optional<int64_t> summary_particle_count_;
  std::vector<int64_t> numbers_;            // sorted particle numbers, to check .cla ids
  std::vector<std::string> page_sequence_;  // collage pages in list order, repeats removed

  // Pass 2 state.
  std::ifstream list_stream_;
  std::unique_ptr<ParticleTableReader> list_;
  std::ifstream outline_stream_;
  std::unique_ptr<OutlineReader> outlines_;
  std::unique_ptr<CollageLoader> pages_;
  std::string collage_name_;
  Image collage_;
  Image mask_;
  std::vector<Image> crops_;  // vignettes of the batch being read, before encoding
  std::vector<Image> mask_crops_;
  bool list_finished_ = false;
  int64_t particles_without_image_ = 0;
  int64_t boxes_outside_ = 0;
  int collage_warnings_ = 0;
};

// A 64-bit FNV-1a hash as 16 hex digits: the run fingerprint.
std::string FingerprintHex(uint64_t hash);

}  // namespace phytoflow
