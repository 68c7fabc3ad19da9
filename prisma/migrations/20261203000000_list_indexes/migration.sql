-- Lists at scale: indexes that serve the default order (createdAt, name) of each list and the
-- applications' sort orders, and a maintained per-environment application count.

-- CreateIndex
CREATE INDEX "Environment_createdAt_name_idx" ON "Environment"("createdAt", "name");

-- CreateIndex
CREATE INDEX "Application_environmentId_createdAt_name_idx" ON "Application"("environmentId", "createdAt", "name");

-- CreateIndex
CREATE INDEX "Application_environmentId_updatedAt_name_idx" ON "Application"("environmentId", "updatedAt", "name");

-- CreateIndex
CREATE INDEX "ComputePool_environmentId_createdAt_name_idx" ON "ComputePool"("environmentId", "createdAt", "name");

-- CreateIndex
CREATE INDEX "Statement_environmentId_createdAt_name_idx" ON "Statement"("environmentId", "createdAt", "name");

-- CreateTable
CREATE TABLE "ApplicationCount" (
    "environmentId" UUID NOT NULL,
    "shard" INTEGER NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "ApplicationCount_pkey" PRIMARY KEY ("environmentId","shard")
);

-- AddForeignKey
ALTER TABLE "ApplicationCount" ADD CONSTRAINT "ApplicationCount_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Counts what is stored now
INSERT INTO "ApplicationCount" ("environmentId", "shard", "count")
SELECT "environmentId", 0, count(*) FROM "Application" GROUP BY "environmentId";

-- Every insert and delete of an application moves its environment's count, in the row of the
-- connection's slot (pg_backend_pid() % 16): concurrent writers rarely share a row, so they do
-- not wait for each other's commits.
CREATE FUNCTION "ApplicationCount_track"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD."environmentId" IS NOT DISTINCT FROM NEW."environmentId" THEN
    RETURN NULL;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO "ApplicationCount" ("environmentId", "shard", "count") VALUES (OLD."environmentId", pg_backend_pid() % 16, -1)
    ON CONFLICT ("environmentId", "shard") DO UPDATE SET "count" = "ApplicationCount"."count" - 1;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO "ApplicationCount" ("environmentId", "shard", "count") VALUES (NEW."environmentId", pg_backend_pid() % 16, 1)
    ON CONFLICT ("environmentId", "shard") DO UPDATE SET "count" = "ApplicationCount"."count" + 1;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "Application_count" AFTER INSERT OR DELETE OR UPDATE OF "environmentId" ON "Application"
FOR EACH ROW EXECUTE FUNCTION "ApplicationCount_track"();
