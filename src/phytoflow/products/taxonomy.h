#pragma once

// The taxonomy table: what each class name of a classifier (or of VisualSpreadsheet, or an
// EcoTaxa project) means in WoRMS, which lifeform it belongs to (carbon equation, OSPAR
// lifeform pairs) and whether it is a living organism at all (detritus, bubbles and "uncertain"
// are not, and never become occurrences). A user-editable TSV with a version; the default one
// is compiled into the binary (taxonomy/phytoflow-taxonomy.tsv). Format: docs/formats/taxonomy.md.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phytoflow {

enum class Lifeform {
  kDiatom,
  kDinoflagellate,
  kCiliate,
  kCyanobacteria,
  kOtherPhytoplankton,  // haptophytes, silicoflagellates, chlorophytes, ...
  kZooplankton,
  kOtherLiving,  // living but none of the above (e.g. "Biota", pollen)
  kNonLiving,    // detritus, bubbles, beads, junk, "uncertain": never an occurrence
};
std::string_view LifeformName(Lifeform lifeform);  // "diatom", "dinoflagellate", ..., "non_living"
std::optional<Lifeform> ParseLifeform(std::string_view name);

// Where a diatom lives (OSPAR PH1 pair tychopelagic–pelagic diatoms); empty when unknown.
enum class Habitat { kUnknown, kPelagic, kTychopelagic };
std::string_view HabitatName(Habitat habitat);  // "", "pelagic", "tychopelagic"
std::optional<Habitat> ParseHabitat(std::string_view name);

struct Taxon {
  std::string class_name;           // label as emitted, e.g. "Guinardia_delicatula"
  std::optional<int64_t> aphia_id;  // WoRMS AphiaID; none for non-living classes
  std::string scientific_name;      // WoRMS name without authorship
  std::string rank;                 // WoRMS rank: "Species", "Genus", "Class", ...
  // kingdom, phylum, class, order, family, genus, as far as known: positional, so an unknown
  // rank inside is an empty string ("", "Haptophyta", ...) and unknown trailing ranks are omitted.
  std::vector<std::string> lineage;
  Lifeform lifeform = Lifeform::kOtherLiving;
  Habitat habitat = Habitat::kUnknown;
  std::string notes;  // sources, caveats ("verify in WoRMS"); free text

  bool Living() const { return lifeform != Lifeform::kNonLiving; }
  // "urn:lsid:marinespecies.org:taxname:<AphiaID>", or empty without an AphiaID.
  std::string Lsid() const;
  std::string Kingdom() const { return lineage.empty() ? std::string() : lineage.front(); }
  bool operator==(const Taxon&) const = default;
};

class Taxonomy {
 public:
  Taxonomy() = default;
  Taxonomy(std::string version, std::vector<Taxon> taxa);  // checks for duplicate class names

  const std::string& Version() const { return version_; }
  const std::vector<Taxon>& Taxa() const { return taxa_; }
  // The taxon of a class name (exact match first, then ignoring case, '_' vs ' '), or nullptr.
  const Taxon* Find(std::string_view class_name) const;
  // Throws Error{kInvalidInput} listing every name that Find() does not know.
  void RequireAll(const std::vector<std::string>& class_names, std::string_view what) const;

 private:
  std::string version_;
  std::vector<Taxon> taxa_;
};

// Parses a taxonomy TSV. `source` names the file in errors ("file:line: field: problem").
// Throws Error{kInvalidInput} for a missing version line, a missing or unknown column, a row with
// more fields than the header, a malformed AphiaID or LSID (the LSID column must equal
// Taxon::Lsid()), an AphiaID without a scientific name, an unknown lifeform or habitat, a lineage
// of more than six ranks, a non-living class with an AphiaID, or a duplicate class name. Blank
// lines and lines starting with '#' are skipped; missing trailing fields are empty. A living
// class may lack an AphiaID (e.g. "Protist"): it is reported, but never published as an
// occurrence.
Taxonomy ParseTaxonomy(std::string_view text, std::string_view source);
Taxonomy LoadTaxonomy(const std::filesystem::path& path);
// The table shipped with phytoflow (compiled in).
const Taxonomy& DefaultTaxonomy();
// The TSV text of a taxonomy (what `phytoflow taxonomy show --tsv` prints; parses back equal).
std::string TaxonomyTsv(const Taxonomy& taxonomy);

}  // namespace phytoflow
