ALTER TABLE "neurons" ALTER COLUMN "account_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "neurons" ADD COLUMN "kind" text DEFAULT 'native' NOT NULL;--> statement-breakpoint
ALTER TABLE "neurons" ADD COLUMN "created_from_address" text;--> statement-breakpoint
CREATE INDEX "neurons_anonymous_address_index" ON "neurons" USING btree ("created_from_address","created_at") WHERE "neurons"."account_id" is null;--> statement-breakpoint
ALTER TABLE "neurons" ADD CONSTRAINT "neurons_kind_check" CHECK ("neurons"."kind" in ('native', 'browser'));--> statement-breakpoint
ALTER TABLE "neurons" ADD CONSTRAINT "neurons_operator_check" CHECK ("neurons"."account_id" is not null or "neurons"."kind" = 'browser');