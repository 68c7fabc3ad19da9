-- The audit trail: one row per write and per refused request (who, what, which object, outcome,
-- request id, time). Rows carry no request or response bodies, so no secret value can reach them.
-- "id" is chosen by the writer: a batch retried after a connection broke mid-INSERT inserts each
-- event once (ON CONFLICT DO NOTHING). "seq" is the order rows were stored in, and the readers' cursor.
CREATE TABLE "AuditEvent" (
    "seq" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "requestId" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "principal" TEXT NOT NULL,
    "groups" JSONB NOT NULL DEFAULT '[]',
    "authenticator" TEXT NOT NULL,
    "sourceIp" TEXT,
    "method" TEXT,
    "path" TEXT,
    "verb" TEXT,
    "resourceKind" TEXT,
    "environment" TEXT,
    "resourceName" TEXT,
    "outcome" TEXT NOT NULL,
    "status" INTEGER NOT NULL,
    "reason" TEXT,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("seq")
);

CREATE UNIQUE INDEX "AuditEvent_id_key" ON "AuditEvent"("id");
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");
CREATE INDEX "AuditEvent_principal_seq_idx" ON "AuditEvent"("principal", "seq");
CREATE INDEX "AuditEvent_requestId_idx" ON "AuditEvent"("requestId");

-- Append-only. UPDATE is always refused; DELETE and TRUNCATE only inside a transaction that ran
-- SET LOCAL drey.audit_retention = 'on' (the retention job's, not yet written). This guards against
-- mistakes and bugs in drey, not against a database owner, who can drop the trigger.
CREATE FUNCTION "AuditEvent_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' OR COALESCE(current_setting('drey.audit_retention', true), '') <> 'on' THEN
    RAISE EXCEPTION 'AuditEvent is append-only: % is not allowed', TG_OP
      USING ERRCODE = 'insufficient_privilege',
            HINT = CASE WHEN TG_OP = 'UPDATE' THEN 'audit rows are never changed'
                        ELSE 'only the retention job removes audit rows, after SET LOCAL drey.audit_retention = ''on''' END;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "AuditEvent_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON "AuditEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION "AuditEvent_append_only"();
