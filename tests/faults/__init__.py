"""`make faults`: the stack of `saksflyt dev` under faults, proving no case is lost or duplicated.

Cases are driven the way production drives them (forms in the TOPdesk simulator, its webhooks to
the intake, the manager's decision in SAP and the DFØ portal's webhook) while processes are killed
and systems fail (`chaos.py`); then the durable stores are counted (`count.py`).
"""
