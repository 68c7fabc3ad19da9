-- CMF 2.1's catalog model: a Kafka catalog's databases (one Kafka cluster each) are rows of their
-- own. `origin` says how a database came: `catalog` from an entry of a 2.0 catalog's
-- `spec.kafkaClusters`, `api` through /catalogs/kafka/{catName}/databases.

-- CreateTable
CREATE TABLE "KafkaDatabase" (
    "id" UUID NOT NULL,
    "catalogId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "apiVersion" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "labels" JSON,
    "annotations" JSON,
    "spec" JSON NOT NULL,
    "origin" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "KafkaDatabase_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "KafkaDatabase_origin_check" CHECK ("origin" IN ('catalog', 'api'))
);

-- CreateIndex
CREATE UNIQUE INDEX "KafkaDatabase_catalogId_name_key" ON "KafkaDatabase"("catalogId", "name");

-- AddForeignKey
ALTER TABLE "KafkaDatabase" ADD CONSTRAINT "KafkaDatabase_catalogId_fkey" FOREIGN KEY ("catalogId") REFERENCES "KafkaCatalog"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Every entry of a stored catalog's spec.kafkaClusters becomes a database of origin `catalog`
-- (the first entry of a name wins, as drey refused repeats), made when its catalog was. `json`
-- operators keep connectionConfig's text, and so its key order, as it was written.
INSERT INTO "KafkaDatabase" ("id", "catalogId", "name", "apiVersion", "kind", "spec", "origin", "createdAt", "updatedAt")
SELECT DISTINCT ON (c."id", e.entry ->> 'databaseName')
    gen_random_uuid(),
    c."id",
    e.entry ->> 'databaseName',
    'cmf.confluent.io/v1',
    'KafkaDatabase',
    json_build_object('kafkaCluster',
        CASE WHEN json_typeof(e.entry -> 'connectionSecretId') = 'string'
            THEN json_build_object('connectionConfig', e.entry -> 'connectionConfig', 'connectionSecretId', e.entry -> 'connectionSecretId')
            ELSE json_build_object('connectionConfig', e.entry -> 'connectionConfig')
        END),
    'catalog',
    c."createdAt",
    c."createdAt"
FROM "KafkaCatalog" c
CROSS JOIN LATERAL json_array_elements(
    CASE WHEN json_typeof(c."spec" -> 'kafkaClusters') = 'array' THEN c."spec" -> 'kafkaClusters' ELSE '[]'::json END
) WITH ORDINALITY AS e(entry, ord)
WHERE json_typeof(e.entry) = 'object' AND json_typeof(e.entry -> 'databaseName') = 'string'
ORDER BY c."id", e.entry ->> 'databaseName', e.ord;

-- The catalog row keeps srInstance only
UPDATE "KafkaCatalog" SET "spec" = json_build_object('srInstance', "spec" -> 'srInstance');
