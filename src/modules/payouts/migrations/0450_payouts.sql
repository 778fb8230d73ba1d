-- Statements read a payout's lines in id order (keyset pages); without this every page scans the ledger.
CREATE INDEX IF NOT EXISTS ledger_lines_of_payout ON ledger_lines (payout_id, id) WHERE payout_id IS NOT NULL;
