"""The 14 approved CAR-T products as printed in the review's Table 1 (P-T1; REQUIREMENTS.md section 3.6)."""

APPROVED_PRODUCTS = [
    {"number": n, "name": name, "company": company, "target": target, "authority": authority,
     "approval_date": date, "indications": indications}
    for n, name, company, target, authority, date, indications in [
        (1, "Tisagenlecleucel (Kymriah)", "Novartis", "CD19", "FDA", "August 2017", "Pediatric r/r B-ALL; r/r LBCL"),
        (2, "Axicabtagene ciloleucel (Yescarta)", "Gilead", "CD19", "FDA", "October 2017", "r/r LBCL; LBCL; r/r FL"),
        (3, "Brexucabtagene autoleucel (Tecartus)", "Gilead", "CD19", "FDA", "July 2020", "Adult r/r B-ALL; r/r MCL"),
        (4, "Lisocabtagene maraleucel (Breyanzi)", "BMS", "CD19", "FDA", "February 2021",
         "r/r LBCL; LBCL; r/r MCL; r/r FL; r/r CLL/SLL"),
        (5, "Idecabtagene vicleucel (Abecma)", "BMS", "BCMA", "FDA", "March 2021", "r/r MM"),
        (6, "Ciltacabtagene autoleucel (Carvykti)", "J&J", "BCMA", "FDA", "February 2022", "r/r MM"),
        (7, "Obecabtagene autoleucel (Aucatzy, as printed)", "Autolus", "CD19", "FDA", "November 2024",
         "Adult r/r B-ALL"),
        (8, "Axicabtagene ciloleucel", "FosunKairos", "CD19", "NMPA", "June 2021", "r/r LBCL; LBCL"),
        (9, "Relmacabtagene autoleucel", "JW", "CD19", "NMPA", "September 2021", "r/r LBCL; r/r FL"),
        (10, "Equecabtagene autoleucel", "IASO", "BCMA", "NMPA", "June 2023", "r/r MM"),
        (11, "Inaticabtagene autoleucel", "JUVENTAS", "CD19", "NMPA", "November 2023; November 2025",
         "Adult r/r B-ALL (2023); r/r LBCL (2025)"),
        (12, "Zevorcabtagene autoleucel", "CARsgen", "BCMA", "NMPA", "March 2024", "r/r MM"),
        (13, "Ciltacabtagene autoleucel", "LEGEND", "BCMA", "NMPA", "August 2024", "r/r MM"),
        (14, "Ranicabtagene autoleucel", "HRAIN", "CD19", "NMPA", "July 2025", "r/r LBCL"),
    ]
]
