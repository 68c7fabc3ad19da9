-- CreateTable
CREATE TABLE "Environment" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kubernetesNamespace" TEXT NOT NULL,
    "flinkApplicationDefaults" JSON,
    "computePoolDefaults" JSON,
    "statementDefaults" JSON,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Environment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Application" (
    "id" UUID NOT NULL,
    "environmentId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "apiVersion" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "labels" JSON,
    "annotations" JSON,
    "spec" JSON NOT NULL,
    "specHash" TEXT NOT NULL,
    "status" JSONB,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Application_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApplicationInstance" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "applicationId" UUID NOT NULL,
    "spec" JSON NOT NULL,
    "jobStatus" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ApplicationInstance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApplicationEvent" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "applicationId" UUID NOT NULL,
    "instanceName" TEXT,
    "type" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ApplicationEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Secret" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "labels" JSON,
    "annotations" JSON,
    "data" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Secret_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EnvironmentSecretMapping" (
    "id" UUID NOT NULL,
    "environmentId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "secretId" UUID NOT NULL,
    "labels" JSON,
    "annotations" JSON,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "EnvironmentSecretMapping_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ComputePool" (
    "id" UUID NOT NULL,
    "environmentId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "apiVersion" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "labels" JSON,
    "annotations" JSON,
    "spec" JSON NOT NULL,
    "status" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ComputePool_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Statement" (
    "id" UUID NOT NULL,
    "environmentId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "apiVersion" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "labels" JSON,
    "annotations" JSON,
    "computePoolName" TEXT NOT NULL,
    "spec" JSON NOT NULL,
    "status" JSONB NOT NULL,
    "phase" TEXT NOT NULL,
    "result" JSONB,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Statement_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StatementException" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "statementId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "StatementException_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KafkaCatalog" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "apiVersion" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "labels" JSON,
    "annotations" JSON,
    "spec" JSON NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "KafkaCatalog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Environment_name_key" ON "Environment"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Application_environmentId_name_key" ON "Application"("environmentId", "name");

-- CreateIndex
CREATE INDEX "ApplicationInstance_applicationId_seq_idx" ON "ApplicationInstance"("applicationId", "seq");

-- CreateIndex
CREATE INDEX "ApplicationEvent_applicationId_seq_idx" ON "ApplicationEvent"("applicationId", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "Secret_name_key" ON "Secret"("name");

-- CreateIndex
CREATE UNIQUE INDEX "EnvironmentSecretMapping_environmentId_name_key" ON "EnvironmentSecretMapping"("environmentId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "ComputePool_environmentId_name_key" ON "ComputePool"("environmentId", "name");

-- CreateIndex
CREATE INDEX "Statement_environmentId_computePoolName_idx" ON "Statement"("environmentId", "computePoolName");

-- CreateIndex
CREATE UNIQUE INDEX "Statement_environmentId_name_key" ON "Statement"("environmentId", "name");

-- CreateIndex
CREATE INDEX "StatementException_statementId_seq_idx" ON "StatementException"("statementId", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "KafkaCatalog_name_key" ON "KafkaCatalog"("name");

-- AddForeignKey
ALTER TABLE "Application" ADD CONSTRAINT "Application_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApplicationInstance" ADD CONSTRAINT "ApplicationInstance_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApplicationEvent" ADD CONSTRAINT "ApplicationEvent_applicationId_fkey" FOREIGN KEY ("applicationId") REFERENCES "Application"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EnvironmentSecretMapping" ADD CONSTRAINT "EnvironmentSecretMapping_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EnvironmentSecretMapping" ADD CONSTRAINT "EnvironmentSecretMapping_secretId_fkey" FOREIGN KEY ("secretId") REFERENCES "Secret"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ComputePool" ADD CONSTRAINT "ComputePool_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Statement" ADD CONSTRAINT "Statement_environmentId_fkey" FOREIGN KEY ("environmentId") REFERENCES "Environment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StatementException" ADD CONSTRAINT "StatementException_statementId_fkey" FOREIGN KEY ("statementId") REFERENCES "Statement"("id") ON DELETE CASCADE ON UPDATE CASCADE;
