"""Quality metrics: vein-to-vein time, first-pass release, OOS and excursion rates, CQA trends with SPC.

A reporting context (issue 14 item 5): it owns no records and writes nothing. Its selectors read the records
of journeys, manufacturing, QC, logistics and the clinic and aggregate them in SQL, so a page costs the same
number of queries however many batches there are; the SPC rules are `cellchain.domain.spc`.
"""
