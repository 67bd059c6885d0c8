#!/usr/bin/python3
"""Writes a synthetic multi-year, multi-station FlowCam data set for the OSPAR indicators.

    tools/synthetic_series.py OUT [--stations 2] [--first-year 2015] [--years 8]
                                  [--particles-scale 1.0] [--seed 1]

OUT/runs/<run>/      one FlowCam run per station and month: <run>.lst (a VisualSpreadsheet list
                     with the fields phytoflow uses, no collage images: ingest warns about
                     them), <run>.ctx and
                     <run>_run_summary.txt (1 mL imaged: cells per litre = cells x 1000)
OUT/metadata.csv     the sidecar for `phytoflow ingest --metadata`: station, sampled_at (the 15th),
                     latitude, longitude, water_body "SNS"
OUT/ecotaxa/         one EcoTaxa TSV per run with every particle validated, for
                     `phytoflow import ecotaxa OUT/ecotaxa`
OUT/expected.json    what is built in (below), for tests

Run names are <station>_<YYYYMM>, e.g. W01_201503. Standard library only, deterministic for a seed.

What the data hold (docs/indicators.md, "The synthetic data set"):
* diatoms with a spring and an autumn bloom and no trend; pelagic ones (Chaetoceros, ESD 12 um;
  Thalassiosira, 28 um) and tychopelagic ones (Paralia sulcata, 24 um; Navicula, 14 um);
* dinoflagellates (Tripos fusus, 45 um; Prorocentrum, 22 um) with a summer peak that grow by
  25 % a year and are three times as abundant again in the last two years (the "shift");
* Phaeocystis (6 um) in spring, a ciliate (Strombidium) and detritus throughout;
* the first month of the first station holds exactly 50 Chaetoceros, 30 Thalassiosira,
  15 Paralia sulcata and 5 Navicula and no other phytoplankton (the PH3 test vector of
  ../shared/spec/quantities-and-indicators.md section 3.3).
"""

import argparse
import json
import math
import os
import random

# Class name (as in the taxonomy) and the particle's ESD in um.
TAXA = {
    "Chaetoceros": 12.0,
    "Thalassiosira": 28.0,
    "Paralia_sulcata": 24.0,
    "Navicula": 14.0,
    "Tripos_fusus": 45.0,
    "Prorocentrum": 22.0,
    "Phaeocystis": 6.0,
    "Strombidium": 30.0,
    "detritus": 10.0,
}

STATIONS = [("W01", 51.43, 2.81), ("W02", 51.75, 2.69), ("W03", 51.33, 3.05), ("W04", 51.58, 2.42)]

# The fields phytoflow uses from a VisualSpreadsheet list (the 017 format with fewer fields than
# the usual 65, which the reader accepts): small lists keep the test data set quick to store.
HEADER = """id|int32 image_x|int32 image_y|int32 image_w|int32 image_h|int32 ppc|int32
cal_const|double abd_area|double abd_diameter|double esd_diameter|double length|double
width|double timestamp|timestamp collage_file|string image_id|guid""".split()

CALIBRATION = 0.5544  # um per pixel
VOLUME_IMAGED_ML = 1.0


def bump(month, peak, width=1.5):
    """A seasonal peak around `peak` (months)."""
    return math.exp(-((month - peak) ** 2) / (2 * width * width))


def counts_for(rng, station, year_index, month, years, scale):
    """Particles per taxon of one sample."""
    noise = lambda: math.exp(0.5 * (rng.random() - 0.5))  # a factor in [0.78, 1.28]
    diatom_season = 1 + 3 * bump(month, 4) + 1.5 * bump(month, 9)
    dino_season = 1 + 3 * bump(month, 7)
    dino_level = 1.25 ** year_index * (3 if year_index >= years - 2 else 1)
    station_factor = 1.0 + 0.2 * station
    counts = {
        "Chaetoceros": 6 * diatom_season * noise(),
        "Thalassiosira": 3 * diatom_season * noise(),
        "Paralia_sulcata": 2 * (1 + 0.5 * bump(month, 2)) * noise(),
        "Navicula": 1.5 * noise(),
        "Tripos_fusus": 1.0 * dino_season * dino_level * noise(),
        "Prorocentrum": 0.8 * dino_season * dino_level * noise(),
        "Phaeocystis": 3 * bump(month, 4, 1.0) * noise(),
        "Strombidium": 1 * noise(),
        "detritus": 2 * noise(),
    }
    return {name: max(0, round(value * station_factor * scale)) for name, value in counts.items()}


def list_row(run_index, number, esd, collage):
    side_px = max(4, round(esd / CALIBRATION))
    area_um2 = math.pi * (esd / 2) ** 2
    values = [number, 0, 0, side_px, side_px, 1, f"{CALIBRATION:.4f}", f"{area_um2:.4f}",
              f"{esd:.4f}", f"{esd:.4f}", f"{esd:.4f}", f"{esd:.4f}",
              f"2020-01-01T10:{number // 60 % 60:02d}:{number % 60:02d}.000", collage,
              f"{run_index:08X}-0000-4000-8000-{number:012X}"]
    assert len(values) == len(HEADER)
    return "|".join(str(v) for v in values)


def write_run(folder, run, run_index, particles):
    os.makedirs(folder, exist_ok=True)
    collage = f"{run}_000001.tif"  # not written: the indicators need no images
    with open(os.path.join(folder, run + ".lst"), "w", newline="\n") as out:
        out.write(f"017\nnum-fields|{len(HEADER)}\n")
        for field in HEADER:
            out.write(field + "\n")
        for number, (_, esd) in enumerate(particles, start=1):
            out.write(list_row(run_index, number, esd, collage) + "\n")
    with open(os.path.join(folder, run + ".ctx"), "w", newline="\r\n") as out:
        out.write("[Software]\nSoftwareName=VisualSpreadsheet\nSoftwareVersion=4.19.3\n"
                  "CameraMagnification=10\n[Fluid]\nFlowCellType=FC100\nFlowCellDepth=100\n"
                  f"CalibrationConstant={CALIBRATION}\nUseDilutionCalculation=0\nSampleDilution=1\n")
    with open(os.path.join(folder, run + "_run_summary.txt"), "w", newline="\r\n") as out:
        out.write(f"Run:\n\tMode:  AutoImage\n\tFluid Volume Imaged: {VOLUME_IMAGED_ML:.4f} ml\n"
                  f"\tParticle Count: {len(particles)}\n")


def write_ecotaxa(path, run, particles):
    with open(path, "w", newline="\n") as out:
        out.write("object_id\tobject_annotation_status\tobject_annotation_category\t"
                  "object_annotation_person_name\tobject_annotation_date\tobject_annotation_time\n")
        for number, (name, _) in enumerate(particles, start=1):
            out.write(f"{run}_{number}\tvalidated\t{name}\tSynthetic Expert\t20240101\t120000\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--stations", type=int, default=2, choices=range(1, len(STATIONS) + 1))
    parser.add_argument("--first-year", type=int, default=2015)
    parser.add_argument("--years", type=int, default=8)
    parser.add_argument("--particles-scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(os.path.join(args.out, "ecotaxa"), exist_ok=True)
    rows = ["run,station,sampled_at,latitude,longitude,water_body"]
    run_index = 0
    first_run_counts = None
    for station_index, (station, latitude, longitude) in enumerate(STATIONS[: args.stations]):
        for year_index in range(args.years):
            year = args.first_year + year_index
            for month in range(1, 13):
                counts = counts_for(rng, station_index, year_index, month, args.years,
                                    args.particles_scale)
                if run_index == 0:  # the PH3 test vector
                    counts.update({"Chaetoceros": 50, "Thalassiosira": 30, "Paralia_sulcata": 15,
                                   "Navicula": 5, "Tripos_fusus": 0, "Prorocentrum": 0,
                                   "Phaeocystis": 0})
                    first_run_counts = dict(counts)
                particles = [(name, TAXA[name]) for name, count in counts.items()
                             for _ in range(count)]
                rng.shuffle(particles)
                run = f"{station}_{year}{month:02d}"
                write_run(os.path.join(args.out, "runs", run), run, run_index + 1, particles)
                write_ecotaxa(os.path.join(args.out, "ecotaxa", f"ecotaxa_{run}.tsv"), run,
                              particles)
                rows.append(f"{run},{station},{year}-{month:02d}-15,{latitude},{longitude},SNS")
                run_index += 1
    with open(os.path.join(args.out, "metadata.csv"), "w", newline="\n") as out:
        out.write("\n".join(rows) + "\n")
    expected = {
        "runs": run_index,
        "stations": [s for s, _, _ in STATIONS[: args.stations]],
        "first_year": args.first_year,
        "last_year": args.first_year + args.years - 1,
        "shift_years": [args.first_year + args.years - 2, args.first_year + args.years - 1],
        "increasing": ["dinoflagellate"],
        "first_run": f"{STATIONS[0][0]}_{args.first_year}01",
        "first_run_counts": first_run_counts,
        "volume_imaged_ml": VOLUME_IMAGED_ML,
    }
    with open(os.path.join(args.out, "expected.json"), "w") as out:
        json.dump(expected, out, indent=2)
        out.write("\n")


if __name__ == "__main__":
    main()
