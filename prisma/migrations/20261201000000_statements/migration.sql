-- AlterTable
ALTER TABLE "Statement" ADD COLUMN     "deletionRequestedAt" TIMESTAMPTZ(3),
ADD COLUMN     "execution" JSONB;

-- CreateTable
CREATE TABLE "EnvironmentCatalogEntry" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "environmentId" UUID NOT NULL,
    "statementName" TEXT NOT NULL,
    "statement" TEXT NOT NULL,
    "catalog" TEXT,
    "database" TEXT,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "EnvironmentCatalogEntry_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ServerKey" (
    "name" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ServerKey_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE INDEX "EnvironmentCatalogEntry_environmentId_seq_idx" ON "EnvironmentCatalogEntry"("environmentId", "seq");

-- AddForeignKey
ALTER TABLE "EnvironmentCatalogEntry" ADD CONSTRAINT "EnvironmentCatalogEntry_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable
ALTER TABLE "Statement" ADD COLUMN     "resultsDrainedAt" TIMESTAMPTZ(3);
