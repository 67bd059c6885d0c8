#!/usr/bin/env bash
# End-to-end checks of `phytoflow indicators` on the synthetic multi-year data set of
# tools/synthetic_series.py (2 stations × 8 years × 12 monthly FlowCam runs, every particle
# validated through an EcoTaxa import): PH1 detects the built-in dinoflagellate shift and trend,
# PH2 classes the comparison anomalies as positive, PH3 reproduces the spec's diversity test
# vector in the first month, and the errors exit with the documented codes.
#   tests/cli/indicators_cli_test.sh PATH/TO/phytoflow
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"

data="$work/synthetic"
check "generate the synthetic data set" "$python" tools/synthetic_series.py "$data"
check "192 runs" json_check "$data/expected.json" "j['runs']==192 and j['shift_years']==[2021,2022]"

expect_exit 0 "ingest every run with the sidecar" \
  "$phytoflow" ingest "$data/runs" --metadata "$data/metadata.csv" --store "$store" --json
check "192 samples ingested with station, time and area" json_check "$work/out" \
  "len(j)==192 and all(r['outcome']=='ingested' and r['metadata']['water_body']=='SNS' for r in j)"
expect_exit 0 "import the expert labels" "$phytoflow" import ecotaxa "$data/ecotaxa" --store "$store" --json
check "every particle validated" json_check "$work/out" \
  "j['validated']==j['rows']>5000 and j['unmatched']==[] and len(j['samples'])==192"

# PH1 of the area (both stations pooled): the dinoflagellates grow 25 % a year and triple in the
# comparison years, so every comparison month of diatom–dinoflagellate leaves the envelope, while
# the tychopelagic–pelagic diatoms (no change built in) mostly stay in it.
expect_exit 0 "indicators ph1 --json --plot" "$phytoflow" indicators ph1 --area SNS \
  --reference 2015-2020 --comparison 2021-2022 --json --plot "$work/ph1.svg" --store "$store"
cp "$work/out" "$work/ph1.json"
check "ph1: three pairs, 72 reference and 24 comparison months each" json_check "$work/ph1.json" \
  "[(p['x'],p['y']) for p in j['pairs']]==[('diatom','dinoflagellate'),('tychopelagic_diatoms','pelagic_diatoms'),('lg_phyto','sm_phyto')] and all(p['reference_points']==72 and p['points']==24 and p['quality']['passed'] for p in j['pairs'])"
check "ph1: the shift is detected (PI <= 0.1, binomial probability < 1e-6)" json_check "$work/ph1.json" \
  "j['pairs'][0]['pi']<=0.1 and j['pairs'][0]['binomial_probability']<1e-6 and [a['year'] for a in j['pairs'][0]['annual']]==[2021,2022]"
check "ph1: the unchanged pair stays in its envelope (PI >= 0.5)" json_check "$work/ph1.json" \
  "j['pairs'][1]['pi']>=0.5 and j['pairs'][1]['pi']>j['pairs'][0]['pi']+0.4"
# chi-square with p = 0.9 from PI: (n_in − 0.9n)²/0.9n + (n_out − 0.1n)²/0.1n.
check "ph1: chi-square matches PI" json_check "$work/ph1.json" \
  "all(abs(p['chi_square']-((p['inside']-0.9*p['points'])**2/(0.9*p['points'])+(p['points']-p['inside']-0.1*p['points'])**2/(0.1*p['points'])))<1e-9 for p in j['pairs'])"
check "ph1: Kendall trend of the dinoflagellates is a significant increase, the diatoms' is not" json_check "$work/ph1.json" \
  "[(t['s'],t['significant']) for t in j['trends'] if t['lifeform']=='dinoflagellate']==[(28,True)] and [t['significant'] for t in j['trends'] if t['lifeform']=='diatom']==[False]"
check "ph1: validated labels only, none predicted" json_check "$work/ph1.json" \
  "j['selection']['labels']=='validated' and j['selection']['predicted_share']==0 and j['selection']['samples']==192 and sorted(j['months'])==sorted(['diatom','dinoflagellate','tychopelagic_diatoms','pelagic_diatoms','lg_phyto','sm_phyto']) and all(len(m)==96 and m[0]['samples']==2 for m in j['months'].values())"
check "ph1: the envelope plot has an outer and an inner envelope per pair" \
  "$python" -c "import sys; s=open(sys.argv[1]).read(); sys.exit(0 if s.startswith('<?xml') and s.count('<polygon')==6 and s.rstrip().endswith('</svg>') else 1)" "$work/ph1.svg"

# The classifier's uncertainty: every particle here is validated, so no label is drawn and every
# interval is degenerate at the estimate, even with --predictions. (A store with predictions is
# unit-tested in products/indicator_uncertainty_test; classifying real runs here costs > 20 s.)
expect_exit 0 "series --predictions --uncertainty 50" "$phytoflow" indicators series --station W02 \
  --predictions --uncertainty 50 --json --store "$store"
check "series: intervals degenerate at the estimate" json_check "$work/out" \
  "j['uncertainty']=={'replicates':50,'level':0.95,'method':'monte-carlo over calibrated top-k'} and all(m['lower'][g]==m['upper'][g]==m['median'][g]==v for m in j['months'] for g,v in m['lifeforms'].items()) and j['months'][0]['lower']['diatom'] is not None"
expect_exit 0 "ph1 --predictions --uncertainty 20" "$phytoflow" indicators ph1 --station W02 \
  --reference 2015-2020 --comparison 2021-2022 --predictions --uncertainty 20 --json --store "$store"
check "ph1: PI intervals degenerate at the estimate" json_check "$work/out" \
  "all(p['pi_lower']==p['pi_upper']==p['pi_median']==p['pi'] is not None and all(a['pi_lower']==a['pi_upper']==a['pi'] for a in p['annual']) for p in j['pairs'])"
expect_exit 0 "ph2 --predictions --uncertainty 20" "$phytoflow" indicators ph2 --station W02 \
  --reference 2015-2020 --comparison 2021-2022 --predictions --uncertainty 20 --json --store "$store"
check "ph2: sd change and class shares degenerate at the estimate" json_check "$work/out" \
  "j['sd_change_percent_lower']==j['sd_change_percent_upper']==j['sd_change_percent'] is not None and all(j['comparison'][k+'_lower']==j['comparison'][k+'_upper']==j['comparison'][k] for k in ['percent_important','percent_extreme','percent_strong'])"
expect_exit 0 "ph3 --predictions --uncertainty 20" "$phytoflow" indicators ph3 --station W02 \
  --value cells --permutations 9 --predictions --uncertainty 20 --json --store "$store"
check "ph3: annual means degenerate at the estimate" json_check "$work/out" \
  "len(j['years'])==8 and all(y[k+'_lower']==y[k+'_upper']==y[k] for y in j['years'] for k in ['richness','menhinick','hulburt','shannon','simpson','pielou'])"
expect_exit 0 "ph1 without --uncertainty" "$phytoflow" indicators ph1 --station W02 \
  --reference 2015-2020 --comparison 2021-2022 --json --store "$store"
check "no intervals without --uncertainty" json_check "$work/out" \
  "j['uncertainty'] is None and j['pairs'][0]['pi_lower'] is None and j['months']['diatom'][0]['lower'] is None"
expect_exit 3 "--uncertainty without --predictions" "$phytoflow" indicators series --uncertainty 5 --store "$store"
check "the missing --predictions is named" grep -q "needs --predictions" "$work/err"
expect_exit 3 "--uncertainty below 20 (the range of a few draws is no interval)" "$phytoflow" indicators series --predictions --uncertainty 19 --store "$store"
expect_exit 3 "--uncertainty above 10000" "$phytoflow" indicators series --predictions --uncertainty 10001 --store "$store"

# PH1 as CSV for one station: one row for the comparison period and one per year, per pair.
expect_exit 0 "indicators ph1 --csv --station W02" "$phytoflow" indicators ph1 --station W02 \
  --reference 2015-2020 --comparison 2021-2022 --csv --store "$store"
check "ph1 CSV rows" "$python" - "$work/out" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = len(rows) == 9 and [r['year'] for r in rows[:3]] == ['all', '2021', '2022']
ok = ok and rows[0]['x'] == 'diatom' and int(rows[0]['points']) == 24 and float(rows[0]['pi']) <= 0.1
sys.exit(0 if ok else 1)
PY

# PH2 of the dinoflagellates: the comparison months are all above the 75 % threshold and the
# Welch test (reference minus comparison) is significantly negative.
expect_exit 0 "indicators ph2 --json --plot" "$phytoflow" indicators ph2 --lifeform dinoflagellate \
  --reference 2015-2020 --comparison 2021-2022 --json --plot "$work/ph2.svg" --store "$store"
cp "$work/out" "$work/ph2.json"
check "ph2: 96 months, a 12-month cycle, ordered thresholds" json_check "$work/ph2.json" \
  "len(j['months'])==96 and len(j['cycle'])==12 and j['thresholds']['q2_5']<=j['thresholds']['q25']<=j['thresholds']['q75']<=j['thresholds']['q97_5'] and j['reference_years']==6"
check "ph2: positive anomalies in the comparison period" json_check "$work/ph2.json" \
  "j['comparison']['months']==24 and j['comparison']['important_positive']>=20 and j['comparison']['important_negative']==0 and j['t_test']['significant'] and j['t_test']['t']<0"
# anomaly = value − cycle of its month; the cycle is the mean of the 6 reference Januaries etc.
check "ph2: anomalies are value minus the reference cycle" json_check "$work/ph2.json" \
  "all(abs(m['anomaly']-(m['value']-j['cycle'][m['month']-1]))<1e-12 for m in j['months']) and abs(j['cycle'][0]-sum(m['value'] for m in j['months'] if m['month']==1 and not m['comparison'])/6)<1e-12"
check "ph2: the anomaly plot" grep -q ">comparison<" "$work/ph2.svg"

# PH3 of station W01 on counted cells: its first sample holds 50, 30, 15 and 5 cells of four
# diatoms and no other phytoplankton, the spec's test vector (§3.3): Menhinick 4/√100 = 0.4,
# Margalef 3/ln 100 = 0.6514, Shannon 1.1421, Pielou 0.8239, Simpson 0.6350, Hulburt 80.
expect_exit 0 "indicators ph3 --json --plot" "$phytoflow" indicators ph3 --station W01 --value cells \
  --json --plot "$work/ph3.svg" --store "$store"
cp "$work/out" "$work/ph3.json"
check "ph3: the first month matches the spec's test vector" json_check "$work/ph3.json" \
  "(lambda m: (m['year'],m['month'],m['richness'],m['abundance'])==(2015,1,4,100) and abs(m['menhinick']-0.4)<5e-5 and abs(m['margalef']-0.6514)<5e-5 and abs(m['shannon']-1.1421)<5e-5 and abs(m['pielou']-0.8239)<5e-5 and abs(m['simpson']-0.6350)<5e-5 and abs(m['hulburt']-80)<1e-9 and m['dominant']=='Chaetoceros' and m['bloom'])(j['months'][0])"
check "ph3: 7 phytoplankton taxa, 8 years of 12 months, QC passed" json_check "$work/ph3.json" \
  "j['taxa']==['Chaetoceros','Navicula','Paralia_sulcata','Phaeocystis','Prorocentrum','Thalassiosira','Tripos_fusus'] and len(j['years'])==8 and all(y['months']==12 for y in j['years']) and j['qc_passed']"
check "ph3: EQRs at most 1, LCBD sums to 1" json_check "$work/ph3.json" \
  "all(y['eqr_menhinick']<=1 for y in j['years']) and max(y['eqr_menhinick'] for y in j['years'])==1 and abs(sum(y['lcbd'] for y in j['years'])-1)<1e-9"
check "ph3: the index plot" grep -q ">Menhinick<" "$work/ph3.svg"

# The monthly series of station W02 as CSV; January 2015: the diatoms of run W02_201501 in
# 1 mL imaged, so cells per litre = diatom particles × 1000.
expect_exit 0 "indicators series --station W02" "$phytoflow" indicators series --station W02 --store "$store"
check "series: 96 months, every lifeform group, the diatoms of January 2015" "$python" - "$work/out" "$data/ecotaxa/ecotaxa_W02_201501.tsv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
labels = [line.split('\t')[2] for line in open(sys.argv[2]).read().splitlines()[1:]]
diatoms = sum(1 for name in labels if name in ('Chaetoceros', 'Thalassiosira', 'Paralia_sulcata', 'Navicula'))
ok = len(rows) == 96 and 'tychopelagic_diatoms' in rows[0] and 'lg_phyto' in rows[0]
ok = ok and rows[0]['year'] == '2015' and rows[0]['month'] == '1' and rows[0]['samples'] == '1'
ok = ok and abs(float(rows[0]['diatom']) - diatoms * 1000) < 1e-6 and float(rows[0]['predicted_share']) == 0
sys.exit(0 if ok else 1)
PY

# The periods in either order: PH3 and the series cover 2015–2022 when the comparison period
# comes first; --value takes the names the output prints too.
expect_exit 0 "indicators series with the comparison period first" "$phytoflow" indicators series \
  --station W02 --reference 2021-2022 --comparison 2015-2016 --value carbon_ug_per_l --json --store "$store"
check "series: 2015-2022 in carbon" json_check "$work/out" \
  "len(j['months'])==96 and j['months'][0]['year']==2015 and j['months'][-1]['year']==2022 and j['selection']['value']=='carbon_ug_per_l'"
expect_exit 0 "indicators ph3 with the comparison period first" "$phytoflow" indicators ph3 \
  --station W01 --value cells --reference 2021-2022 --comparison 2015-2016 --permutations 9 --json --store "$store"
check "ph3: 2015-2022, every year assessed" json_check "$work/out" \
  "(j['first_year'],j['last_year'])==(2015,2022) and len(j['years'])==8 and all(y['assessed'] for y in j['years'])"
expect_exit 3 "an unknown --value" "$phytoflow" indicators series --value litres --store "$store"

# Errors: the documented exit codes, and messages that say what to do (malformed periods and
# pairs are unit-tested in products/indicators_test).
expect_exit 4 "an unknown station" "$phytoflow" indicators ph3 --station NOWHERE --store "$store"
check "the unknown station is named" grep -q "station 'NOWHERE'" "$work/err"
expect_exit 3 "overlapping periods" "$phytoflow" indicators ph1 --reference 2015-2020 --comparison 2020-2022 --store "$store"
check "overlap is explained" grep -q "overlap" "$work/err"
expect_exit 2 "ph1 without --comparison" "$phytoflow" indicators ph1 --reference 2015-2020 --store "$store"
expect_exit 4 "a plot into a missing folder" "$phytoflow" indicators ph2 --reference 2015-2020 --comparison 2021-2022 --plot "$work/none/ph2.svg" --store "$store"
expect_exit 3 "a comparison period without samples" "$phytoflow" indicators ph2 --station W01 --reference 2015-2020 --comparison 2030-2031 --store "$store"
check "the empty period is explained" grep -q "no comparison year" "$work/err"
# A sample without a sampling time is left out with a warning.
expect_exit 0 "clear one sampling time" "$phytoflow" metadata set W01_201501 sampled_at= --store "$store"
expect_exit 0 "series without it" "$phytoflow" indicators series --station W01 --json --store "$store"
check "the sample is left out and named" json_check "$work/out" \
  "j['selection']['samples']==95 and any('W01_201501' in w for w in j['warnings']) and j['months'][0]['samples']==0"

finish
