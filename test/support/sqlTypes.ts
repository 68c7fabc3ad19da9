/** SQL over every type the Confluent CLI decodes, shared by the recording and drey's end-to-end tests. */

/** A zone with daylight saving time, so that TIMESTAMP_LTZ values show which offset was applied. */
export const SESSION = { 'table.local-time-zone': 'America/New_York', 'parallelism.default': '1' };
/** COLLECT is the only way to a MULTISET; in batch mode it gives one row instead of a changelog. */
export const BATCH = { 'execution.runtime-mode': 'batch' };
// Flink SQL has no way to a column of the NULL type (`NULL` alone is "Illegal use of 'NULL'", and
// `CAST(x AS NULL)` does not parse), and a MAP or MULTISET with other than string keys cannot be
// fetched as JSON: neither is here.
export const ALL_TYPES = `SELECT CAST('ab' AS CHAR(3)) AS c, '' AS e, CAST('héllo, "wörld"' AS VARCHAR(20)) AS vc, CAST('s' AS STRING) AS s,
  TRUE AS b, FALSE AS bf, x'0102ff' AS bin, CAST(x'cafe' AS VARBINARY(10)) AS vbin,
  CAST('100.00' AS DECIMAL(5,2)) AS dec1, CAST('-0.000123' AS DECIMAL(10,6)) AS dec2,
  CAST('1234567890123456789012345678.9012345678' AS DECIMAL(38,10)) AS dwide,
  CAST('-12345678901234567890.123456789012345678' AS DECIMAL(38,18)) AS dneg, CAST(0 AS DECIMAL(38,18)) AS dzero,
  CAST(1e10 AS DECIMAL(20,2)) AS d1e10,
  CAST(-128 AS TINYINT) AS ti, CAST(32767 AS SMALLINT) AS si, -2147483648 AS i,
  CAST(9223372036854775807 AS BIGINT) AS bmax, CAST(-9007199254740993 AS BIGINT) AS bneg,
  CAST(1.5 AS FLOAT) AS f, CAST(1e20 AS FLOAT) AS fbig, CAST(0.1 AS FLOAT) AS f01,
  CAST(2.25 AS DOUBLE) AS d, CAST(1e20 AS DOUBLE) AS dbig, CAST(1e-5 AS DOUBLE) AS dsmall,
  CAST(0.1 AS DOUBLE) + CAST(0.2 AS DOUBLE) AS dsum, CAST('NaN' AS DOUBLE) AS dnan, CAST('-Infinity' AS DOUBLE) AS dninf,
  DATE '2024-01-02' AS dt, DATE '0099-12-31' AS dold,
  TIME '12:34:56.789' AS tm, TIME '12:34:56' AS tm0, CAST(TIME '12:34:56.100' AS TIME(3)) AS tm1,
  CAST(TIME '00:00:00' AS TIME(3)) AS tmz,
  TIMESTAMP '2024-01-02 03:04:05.123456' AS ts6, TIMESTAMP '2024-01-02 03:04:05.100' AS ts3,
  CAST(TIMESTAMP '2024-01-02 03:04:05' AS TIMESTAMP(0)) AS ts0,
  CAST(TIMESTAMP '2024-01-02 03:04:05.123456789' AS TIMESTAMP(9)) AS ts9,
  CAST(TIMESTAMP '2024-01-02 03:04:00' AS TIMESTAMP(6)) AS tsw,
  TO_TIMESTAMP_LTZ(1704164645123, 3) AS ltz3,
  CAST(TO_TIMESTAMP_LTZ(1704164645000, 3) AS TIMESTAMP_LTZ(6)) AS ltz6,
  CAST(TO_TIMESTAMP_LTZ(1720000000000, 3) AS TIMESTAMP_LTZ(0)) AS ltz0,
  INTERVAL '10-2' YEAR TO MONTH AS iym, INTERVAL '3' MONTH AS imon, INTERVAL '-1-2' YEAR TO MONTH AS iymneg,
  INTERVAL '2' DAY AS iday, INTERVAL '1 02:03:04.5' DAY TO SECOND AS ids,
  INTERVAL '-1 02:03:04.005' DAY TO SECOND AS idsneg,
  CAST(NULL AS INT) AS nint, CAST(NULL AS STRING) AS nstr,
  ARRAY[1, CAST(NULL AS INT)] AS arr, ARRAY['a', CAST(NULL AS STRING), ''] AS arrs,
  ARRAY[ARRAY[1, 2], CAST(NULL AS ARRAY<INT>)] AS arrnest,
  ARRAY[CAST(9007199254740993 AS BIGINT), CAST(9223372036854775807 AS BIGINT)] AS arrbig,
  ARRAY[CAST('12345678901234567890.123456789' AS DECIMAL(38,9)), CAST(NULL AS DECIMAL(38,9))] AS arrdec,
  ROW(TIMESTAMP '2024-01-02 03:04:05.100', CAST(1.5 AS DECIMAL(5,2)), x'01ff', TRUE, INTERVAL '2' DAY,
    INTERVAL '3' MONTH, TO_TIMESTAMP_LTZ(1704164645123, 3), CAST(1e20 AS DOUBLE), TIME '12:00:00.100',
    DATE '2024-01-02', CAST(NULL AS INT)) AS atoms,
  MAP['a', 1, 'b', CAST(NULL AS INT)] AS mp,
  MAP['k', ARRAY[CAST(1.5 AS DOUBLE)], 'n', CAST(NULL AS ARRAY<DOUBLE>)] AS mpnest,
  CAST(ROW(1, 'x', ROW(TRUE), CAST(NULL AS DOUBLE)) AS ROW<id INT, name STRING, sub ROW<flag BOOLEAN>, missing DOUBLE>) AS rw,
  CAST(NULL AS ROW<a INT>) AS rwnull,
  ROW(ARRAY[ROW(1, 'a')], MAP['m', ROW(CAST(2 AS BIGINT))]) AS rwdeep,
  ARRAY[TO_TIMESTAMP_LTZ(1704164645123, 3), TO_TIMESTAMP_LTZ(1720000000000, 3)] AS ltzs,
  ROW(ARRAY[TO_TIMESTAMP_LTZ(1720000000000, 3)], MAP['k', CAST(TO_TIMESTAMP_LTZ(1704164645000, 3) AS TIMESTAMP_LTZ(6))]) AS rwltz,
  bag
FROM (SELECT COLLECT(v) AS bag FROM (VALUES ('a'), ('a'), ('b')) AS t(v))`;
/** a→1, a→2, b→1, c→1 counted by count: +I(1,1) -D(1,1) +I(2,1) +I(1,1) -U(1,1) +U(1,2). */
export const CHANGELOG = "SELECT n, COUNT(*) AS keys_ FROM (SELECT v, COUNT(*) AS n FROM (VALUES ('a'), ('a'), ('b'), ('c')) AS t(v) GROUP BY v) GROUP BY n";

