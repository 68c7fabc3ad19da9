-- Every insert and delete of an application also adds one to its environment's "changes" (in the
-- same row as its count): their sum over the environment's rows only grows, so a list's landmarks,
-- read in one snapshot with that sum, hold while it stays the same, whichever replica writes.
ALTER TABLE "ApplicationCount" ADD COLUMN "changes" BIGINT NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION "ApplicationCount_track"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."environmentId" IS NOT DISTINCT FROM NEW."environmentId" THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO "ApplicationCount" ("environmentId", "shard", "count", "changes") VALUES (OLD."environmentId", pg_backend_pid() % 16, -1, 1)
    ON CONFLICT ("environmentId", "shard") DO UPDATE SET "count" = "ApplicationCount"."count" - 1, "changes" = "ApplicationCount"."changes" + 1;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO "ApplicationCount" ("environmentId", "shard", "count", "changes") VALUES (NEW."environmentId", pg_backend_pid() % 16, 1, 1)
    ON CONFLICT ("environmentId", "shard") DO UPDATE SET "count" = "ApplicationCount"."count" + 1, "changes" = "ApplicationCount"."changes" + 1;
  END IF;
  RETURN NULL;
END
$$;
