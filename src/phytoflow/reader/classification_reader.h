#pragma once

// Reader of VisualSpreadsheet classification files (.cla, format "v3"), which hold one or more
// named classifications, each a list of classes with the ids of their particles.

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace phytoflow {

struct ClassMembers {
  std::string name;                  // "Colonial Cyanobacteria"
  std::vector<std::string> filters;  // value-filter files (.flt); empty = assigned by hand
  std::vector<int64_t> particle_numbers;
  bool operator==(const ClassMembers&) const = default;
};

struct Classification {
  std::string name;
  std::vector<ClassMembers> classes;
  bool operator==(const Classification&) const = default;
};

// Reads a whole .cla. Throws Error{kInvalidInput} naming the file and line when the structure
// is broken (a count that is not a number, a file that ends early).
std::vector<Classification> ReadClassifications(std::istream& input, const std::string& file);

// Writes classifications in the same format (tests and the synthetic export generator).
void WriteClassifications(std::ostream& output, const std::vector<Classification>& classifications);

}  // namespace phytoflow
