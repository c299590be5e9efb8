"""The second engine: the same SQL models on Apache Spark.

- `functions`: the per-engine functions, a DuckDB macro and a Spark SQL function each,
  side by side (5-minute step, calendar period boundaries, the key hash, time buckets);
- `spark_sql`: the lint of the portable subset and the DuckDB -> Spark SQL translation
  (sqlglot's transpiler plus a small AST rewrite pass);
- `spark_run`: a Spark session with Burnwatch's settings, and a model run on it over
  Parquet inputs.
"""
