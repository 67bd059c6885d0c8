#pragma once

// Streaming readers of FlowCam particle tables: the .lst / .flb list (authoritative) and the
// VS 4.x "export list" .csv. Both hand out one Particle at a time, so memory stays flat however
// long the run is.
//
//   std::ifstream in(path);
//   ListReader list(in, "run.lst");
//   Particle particle;
//   while (list.Next(particle)) { ... }

#include "phytoflow/core/particle.h"
#include "phytoflow/reader/particle_decoder.h"
#include "phytoflow/reader/text.h"

#include <cstdint>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

// Interface shared by the .lst and .csv readers.
class ParticleTableReader {
 public:
  virtual ~ParticleTableReader() = default;
  // Reads the next particle; false at the end. Throws Error{kInvalidInput} naming the file,
  // line and field of a malformed row.
  virtual bool Next(Particle& particle) = 0;
  virtual const ParticleDecoder& Decoder() const = 0;
  // Line of the particle last returned (1-based), for messages.
  virtual int64_t LineNumber() const = 0;
};

// Reads a .lst or .flb: "017", "num-fields|N", N "name|type" lines, then '|'-separated rows.
// The header is read by the constructor, which throws Error{kInvalidInput} naming the file and
// line when it is malformed (including pre-017 colon-separated lists, which are refused).
class ListReader : public ParticleTableReader {
 public:
  ListReader(std::istream& input, std::string file);

  bool Next(Particle& particle) override;
  const ParticleDecoder& Decoder() const override { return *decoder_; }
  int64_t LineNumber() const override { return lines_.LineNumber(); }
  const std::string& FormatVersion() const { return version_; }

 private:
  LineReader lines_;
  std::string file_;
  std::string version_;
  std::unique_ptr<ParticleDecoder> decoder_;
  std::string line_;
  std::vector<std::string_view> values_;
};

// Reads VisualSpreadsheet 4.x's particle .csv ("Particle ID,Area (ABD),..."), mapping its
// column titles to .lst names so both give identical particles.
class CsvListReader : public ParticleTableReader {
 public:
  CsvListReader(std::istream& input, std::string file);

  bool Next(Particle& particle) override;
  const ParticleDecoder& Decoder() const override { return *decoder_; }
  int64_t LineNumber() const override { return lines_.LineNumber(); }

 private:
  LineReader lines_;
  std::string file_;
  std::unique_ptr<ParticleDecoder> decoder_;
  std::string line_;
};

// .lst field name for a title of the VS 4.x .csv ("Diameter (ESD)" → "esd_diameter"); titles
// without a .lst twin become snake case ("Fiber Curl" → "fiber_curl").
std::string ListNameForCsvTitle(std::string_view title);

}  // namespace phytoflow
