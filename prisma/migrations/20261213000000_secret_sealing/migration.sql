-- Secret values sealed at rest (envelope encryption, src/security/envelope.ts). A row holds either
-- the plaintext `data` of an older drey or its sealed form, never both; drey seals the plaintext
-- rows at start (sealPlaintextRows), since SQL cannot read the key files.
ALTER TABLE "Secret" ALTER COLUMN "data" DROP NOT NULL;
ALTER TABLE "Secret" ADD COLUMN "kekId" TEXT, ADD COLUMN "wrappedDek" BYTEA, ADD COLUMN "ciphertext" BYTEA;
ALTER TABLE "Secret" ADD CONSTRAINT "Secret_plain_xor_sealed" CHECK (
  ("data" IS NULL) = ("ciphertext" IS NOT NULL) AND ("ciphertext" IS NULL) = ("kekId" IS NULL) AND ("kekId" IS NULL) = ("wrappedDek" IS NULL));
CREATE INDEX "Secret_kekId_idx" ON "Secret" ("kekId");
