#pragma once

// The Darwin Core Archive for OBIS / EMODnet Biology (../shared/spec/darwin-core.md): an Event
// core (campaign → station visit → sample), an Occurrence extension with one row per sample ×
// taxon × verification status, an ExtendedMeasurementOrFact extension with BODC codes, meta.xml
// and eml.xml. Builds the files as text; the app layer zips them.

#include "phytoflow/core/sample.h"
#include "phytoflow/products/composition.h"

#include <string>
#include <vector>

namespace phytoflow {

struct Person {
  std::string name;          // "Jane Doe"
  std::string organization;  // "Flanders Marine Institute (VLIZ)"
  std::string email;
  std::string orcid;  // "https://orcid.org/0000-..." or empty
};

// dataset.json: what eml.xml says about the dataset. Format: docs/formats/darwin-core.md.
struct DatasetDescription {
  std::string title;
  std::string abstract;
  std::string license_url = "http://creativecommons.org/licenses/by/4.0/legalcode";
  std::string license_name = "Creative Commons Attribution (CC-BY) 4.0 License";
  std::vector<Person> creators;
  Person contact;
  std::string institution_code;  // e.g. "VLIZ"
  std::string dataset_name;      // defaults to the title
  std::string citation;          // defaults to "<creators> (<year>). <title>."
  std::string geographic_description;
  std::string package_id;  // urn:uuid:...; derived from the content when empty
  std::string pub_date;    // YYYY-MM-DD; today (UTC) when empty
  std::string language = "eng";
};
// Parses dataset.json text; throws Error{kInvalidInput} naming the field for a missing title,
// abstract, creator or contact, or a malformed date or licence URL.
DatasetDescription ParseDatasetDescription(const std::string& json_text, const std::string& source);

// Who classified: the model behind the predictions, cited in identificationReferences /
// identificationRemarks.
struct ModelCitation {
  std::string model_id;   // "phytoflow-flowcam-default-42ae9df43c7f"
  std::string reference;  // URL or DOI of the model card; may be empty
};

struct DarwinCoreSample {
  Sample sample;  // with its metadata (location and date are required)
  SampleComposition composition;
  ModelCitation model;
  // The labels the composition counted, for identifiedBy (the experts of validated taxa);
  // may be empty, then identifiedBy stays empty.
  std::vector<ResolvedLabel> labels;
};

struct DarwinCoreFile {
  std::string name;  // "event.txt", "occurrence.txt", "extendedmeasurementorfact.txt",
                     // "meta.xml", "eml.xml"
  std::string text;
};

// A dataset description with placeholder title, creator and contact, for an export without
// dataset.json: the archive is well formed but not fit to publish as it is.
DatasetDescription PlaceholderDatasetDescription();

// Throws Error{kInvalidInput} naming every sample and field that Darwin Core needs and the
// sample lacks: latitude, longitude, sampled_at (metadata) and the imaged volume.
void RequireDarwinCoreFields(const std::vector<Sample>& samples);

// Builds the archive's files: event.txt, occurrence.txt, extendedmeasurementorfact.txt, meta.xml,
// eml.xml, in that order. Non-living classes and classes without an AphiaID never become
// occurrences. The output depends only on the arguments (no clock): the same input gives the
// same bytes. Throws Error{kInvalidInput} before building anything, naming the sample and the
// field, when a sample lacks latitude, longitude or sampling time, or has no imaged volume
// (RequireDarwinCoreFields), when a sample counts particles of a class that the taxonomy does
// not know, or when two samples would get the same event id.
std::vector<DarwinCoreFile> BuildDarwinCoreArchive(const DatasetDescription& dataset,
                                                   const std::vector<DarwinCoreSample>& samples,
                                                   const std::string& phytoflow_version);

}  // namespace phytoflow
