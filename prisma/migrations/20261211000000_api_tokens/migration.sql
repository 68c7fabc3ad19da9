-- API tokens for machines and CI. Only an HMAC-SHA256 of each token's secret is kept (keyed by the
-- server-wide pepper in "ServerKey"), so the table cannot give a token back. Every verification
-- reads its row by primary key, so a revocation holds at once on every replica. Roles come from
-- ordinary role bindings naming "User:<principal>" ('token:<name>' unless given).
CREATE TABLE "ApiToken" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "principal" TEXT NOT NULL,
    "secretHash" BYTEA NOT NULL,
    "description" TEXT,
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "lastUsedAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),
    "revokedBy" TEXT,

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "ApiToken_secretHash_length" CHECK (octet_length("secretHash") = 32),
    CONSTRAINT "ApiToken_revoked" CHECK (("revokedAt" IS NULL) = ("revokedBy" IS NULL))
);

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_name_key" ON "ApiToken"("name");

-- CreateIndex
CREATE INDEX "ApiToken_principal_idx" ON "ApiToken"("principal");
