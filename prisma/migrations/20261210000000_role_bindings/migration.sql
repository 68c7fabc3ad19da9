-- Who may do what: CMF's role bindings. A cluster role has no resource (its three resource columns
-- are ''); a resource role names one kind and a LITERAL or PREFIXED name. Empty strings rather than
-- NULLs keep the unique index plain.
CREATE TABLE "RoleBinding" (
    "id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "scope" TEXT NOT NULL,
    "resourceKind" TEXT NOT NULL DEFAULT '',
    "patternType" TEXT NOT NULL DEFAULT '',
    "resourceName" TEXT NOT NULL DEFAULT '',
    "createdBy" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RoleBinding_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "RoleBinding_shape" CHECK (("resourceKind" = '') = ("patternType" = '') AND ("patternType" = '') = ("resourceName" = ''))
);

CREATE UNIQUE INDEX "RoleBinding_subject_role_scope_resourceKind_patternType_resourceName_key" ON "RoleBinding"("subject", "role", "scope", "resourceKind", "patternType", "resourceName");

-- Every replica holds all bindings in memory; a change tells them to read them again.
CREATE FUNCTION "RoleBinding_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('drey_role_bindings', 'changed');
  RETURN NULL;
END
$$;
CREATE TRIGGER "RoleBinding_notify" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "RoleBinding"
  FOR EACH STATEMENT EXECUTE FUNCTION "RoleBinding_notify"();
