-- AlterTable
ALTER TABLE "Statement" ADD COLUMN     "resultsOffset" INTEGER;
