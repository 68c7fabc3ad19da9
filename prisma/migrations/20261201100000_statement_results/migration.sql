-- AlterTable
ALTER TABLE "Statement" ADD COLUMN     "resultsOffset" INTEGER;

-- AlterTable: status and result read back in the order they were written, as the API serves them
ALTER TABLE "Statement" ALTER COLUMN "status" SET DATA TYPE JSON USING "status"::json,
ALTER COLUMN "result" SET DATA TYPE JSON USING "result"::json;
