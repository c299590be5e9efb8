"""Run the models on Apache Spark: a session with Burnwatch's settings, and one model over
Parquet inputs.

`spark_session()` builds the session (`local[*]` unless a master is given),
`define_functions(spark)` defines pipelines/engines/functions.py's functions as
temporary SQL functions, and `run_model(spark, name, inputs)` binds each input
table (a list of Parquet files, as the lake holds them) under its name, the
model's ephemeral inputs as views over their own Spark SQL, and returns the
model's result as a DataFrame. The SQL is the model's file translated by
`pipelines.engines.spark_sql.to_spark`; nothing is written twice.

PySpark is the optional extra `burnwatch[spark]` and needs Java 17.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pipelines.engines.spark_sql import custom_bad_sql, spark_function_sql, to_spark
from pipelines.models.registry import MODELS, Kind, model, model_sql
from schemas.errors import BurnwatchInputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Settings that make Spark compute what DuckDB computes:
SESSION_SETTINGS = {
    # Every time in the lake is a naive UTC timestamp (DuckDB's TIMESTAMP): `timestamp`
    # in the SQL means TIMESTAMP_NTZ, and any instant is read in UTC.
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
    # DuckDB divides by zero to null; ANSI mode (Spark 4's default) raises. The models
    # guard their divisions, so this only matters for a model that forgets to.
    "spark.sql.ansi.enabled": "false",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def spark_session(
    master: str = "local[*]", app_name: str = "burnwatch", **settings: str
) -> SparkSession:
    """A Spark session with SESSION_SETTINGS and the models' functions defined.

    Raises BurnwatchInputError with what to install when PySpark or Java is missing.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise BurnwatchInputError(
            "the Spark engine needs PySpark: pip install 'burnwatch[spark]' "
            "(or uv sync --extra spark)"
        ) from None
    if shutil.which("java") is None:
        raise BurnwatchInputError(
            "the Spark engine needs Java 17: apt-get install openjdk-17-jre-headless "
            "(or set JAVA_HOME)"
        )
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**SESSION_SETTINGS, **settings}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    define_functions(spark)
    return spark


def define_functions(spark: SparkSession) -> None:
    """Define the models' per-engine functions (pipelines/engines/functions.py) in Spark."""
    for statement in spark_function_sql():
        spark.sql(statement)


def define_custom_bad(spark: SparkSession, predicates: Sequence[str]) -> None:
    """Define `burnwatch_custom_bad` for the manifest's bad_when predicates."""
    spark.sql(custom_bad_sql(predicates))


def _bind(spark: SparkSession, table: str, files: Sequence[str]) -> None:
    spark.read.parquet(*files).createOrReplaceTempView(table)


def run_model(spark: SparkSession, name: str, inputs: Mapping[str, Sequence[str]]) -> DataFrame:
    """Model `name` on Spark over `inputs` (table -> Parquet files).

    `inputs` holds every table the model reads, as pipelines.models.build binds them on
    DuckDB (lake tables cut to their lookback, and the relations code binds: scans,
    parameters); an ephemeral input (int_sli_units) may be given as its own inputs
    instead, and is then computed here by its own Spark SQL.
    """
    entry = model(name)
    for table, files in inputs.items():
        _bind(spark, table, files)
    for source in entry.inputs:
        upstream = MODELS.get(source.table)
        if upstream is not None and upstream.kind is Kind.EPHEMERAL and source.table not in inputs:
            spark.sql(to_spark(model_sql(upstream.name))).createOrReplaceTempView(upstream.name)
    if "slo_specs" in inputs:
        rows = spark.sql(
            "select distinct bad_predicate from slo_specs where bad_predicate is not null"
        ).collect()
        define_custom_bad(spark, [row[0] for row in rows])
    return spark.sql(to_spark(model_sql(name)))


def explain(frame: DataFrame) -> str:
    """The physical plan of a model's result, as Spark prints it."""
    plan: Any = frame._jdf.queryExecution().executedPlan()
    return str(plan.toString())
