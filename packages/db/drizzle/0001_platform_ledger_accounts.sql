-- The two ledger accounts that belong to no account: where grants come from and where the platform's share goes.
INSERT INTO "ledger_accounts" ("id", "account_id", "kind") VALUES
	('platform_revenue', NULL, 'platform_revenue'),
	('funding', NULL, 'funding')
ON CONFLICT DO NOTHING;
