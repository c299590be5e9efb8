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

import os
import shutil
import socket
import tempfile
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.engines.spark_sql import custom_bad_sql, spark_function_sql, to_spark
from pipelines.models.registry import MODELS, Kind, model, model_sql
from schemas.errors import BurnwatchInputError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# How long a Spark Connect server may take to accept a connection before the run gives up.
CONNECT_TIMEOUT_SECONDS = 10.0

LOCAL_SETTINGS = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}

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


def _import_pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise BurnwatchInputError(
            "--engine spark needs PySpark: pip install 'burnwatch[spark]' "
            "(or uv sync --extra spark)"
        ) from None
    return pyspark.sql


def _check_java() -> None:
    home = os.environ.get("JAVA_HOME", "")
    if shutil.which("java") is None and not (home and (Path(home) / "bin" / "java").is_file()):
        raise BurnwatchInputError(
            "--engine spark needs Java 17: apt-get install openjdk-17-jre-headless "
            "(or set JAVA_HOME)"
        )


def check_remote_answers(remote: str, timeout_seconds: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """Raise BurnwatchInputError, in one line, unless a server answers at the Spark Connect
    URL `remote` (sc://host:port) within `timeout_seconds`: pyspark itself would retry
    for minutes before failing with a gRPC trace."""
    parsed = urllib.parse.urlparse(remote)
    if parsed.scheme != "sc" or not parsed.hostname:
        raise BurnwatchInputError(
            f"--spark-remote {remote}: not a Spark Connect URL like sc://host:15002"
        )
    try:
        port = parsed.port or 15002
    except ValueError:
        raise BurnwatchInputError(f"--spark-remote {remote}: the port is not a number") from None
    try:
        with socket.create_connection((parsed.hostname, port), timeout=timeout_seconds):
            pass
    except OSError as error:
        reason = "no answer" if isinstance(error, TimeoutError) else error.strerror or error
        raise BurnwatchInputError(
            f"--spark-remote {remote}: no Spark Connect server answers at "
            f"{parsed.hostname}:{port} within {timeout_seconds:g} s ({reason})"
        ) from None


def spark_session(
    master: str = "local[*]", app_name: str = "burnwatch", remote: str = "", **settings: str
) -> SparkSession:
    """A Spark session with SESSION_SETTINGS and the models' functions defined: on `master`
    (local[*] by default), or on the Spark Connect server at `remote` (sc://host:15002).

    Raises BurnwatchInputError with what to install when PySpark or Java is missing,
    and when `remote` does not answer.
    """
    sql = _import_pyspark()
    if remote:
        check_remote_answers(remote)
        builder = sql.SparkSession.builder.remote(remote).appName(app_name)
    else:
        _check_java()
        builder = sql.SparkSession.builder.master(master).appName(app_name)
        if master.startswith("local"):
            # One machine: the driver listens on loopback only, whatever the host's name
            # resolves to (a container's may not resolve at all).
            # Spark makes its (unused) catalog folder in the working directory otherwise.
            catalog = str(Path(tempfile.gettempdir()) / "burnwatch-spark-warehouse")
            # Spark's default of 200 shuffle partitions is for clusters: on one machine
            # every model's shuffles would run 200 tiny tasks (AQE merges them later).
            shuffle = str(2 * (os.cpu_count() or 1))
            settings = {
                **LOCAL_SETTINGS,
                "spark.sql.warehouse.dir": catalog,
                "spark.sql.shuffle.partitions": shuffle,
                **settings,
            }
            # Read by the JVM at launch: without it Spark warns that the host name
            # resolves to loopback, on every run.
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    for key, value in {**SESSION_SETTINGS, **settings}.items():
        if remote and key.startswith("spark.ui."):
            continue  # the server's, not the client's
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except ImportError as error:
        # The Spark Connect client needs pandas, grpcio-status and googleapis-common-protos.
        raise BurnwatchInputError(
            f"--spark-remote needs the Spark Connect client: pip install 'pyspark[connect]' "
            f"({error})"
        ) from None
    except Exception as error:  # Py4J and gRPC raise many kinds
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BurnwatchInputError(f"Spark did not start ({remote or master}): {first}") from None
    if not remote:
        spark.sparkContext.setLogLevel("ERROR")
    define_functions(spark)
    return spark


_SHARED: dict[tuple[str, str], SparkSession] = {}


def shared_session(master: str = "", remote: str = "") -> SparkSession:
    """The one session of this process for `master` or `remote`: started on first use and
    kept, because each step of a run would otherwise pay Spark's start-up (10-30 s)."""
    key = (master or "local[*]", remote)
    if key not in _SHARED:
        _SHARED[key] = spark_session(key[0], remote=remote)
    return _SHARED[key]


def define_functions(spark: SparkSession) -> None:
    """Define the models' per-engine functions (pipelines/engines/functions.py) in Spark."""
    for statement in spark_function_sql():
        spark.sql(statement)


def define_custom_bad(spark: SparkSession, predicates: Sequence[str]) -> None:
    """Define `burnwatch_custom_bad` for the manifest's bad_when predicates."""
    spark.sql(custom_bad_sql(predicates))


def _bind(
    spark: SparkSession, table: str, files: Sequence[str], columns: Sequence[str] | None
) -> None:
    frame = spark.read.parquet(*files)
    if columns:
        frame = frame.select(*columns)
    frame.createOrReplaceTempView(table)


def run_model(
    spark: SparkSession,
    name: str,
    inputs: Mapping[str, Sequence[str]],
    columns: Mapping[str, Sequence[str]] | None = None,
) -> DataFrame:
    """Model `name` on Spark over `inputs` (table -> Parquet files; `columns`: the
    columns to read of a table's files, when not all).

    `inputs` holds every table the model reads, as pipelines.models.build binds them on
    DuckDB (lake tables cut to their lookback, and the relations code binds: scans,
    parameters); an ephemeral input (int_sli_units) may be given as its own inputs
    instead, and is then computed here by its own Spark SQL.
    """
    entry = model(name)
    for table, files in inputs.items():
        _bind(spark, table, files, (columns or {}).get(table))
    if "slo_specs" in inputs:
        # Before the ephemeral views below: Spark resolves a view's functions when the
        # view is created, and int_slo_requests calls burnwatch_custom_bad.
        rows = spark.sql(
            "select distinct bad_predicate from slo_specs where bad_predicate is not null"
        ).collect()
        define_custom_bad(spark, [row[0] for row in rows])
    for source in entry.inputs:
        upstream = MODELS.get(source.table)
        if upstream is not None and upstream.kind is Kind.EPHEMERAL and source.table not in inputs:
            spark.sql(to_spark(model_sql(upstream.name))).createOrReplaceTempView(upstream.name)
    return spark.sql(to_spark(model_sql(name)))


def explain(frame: DataFrame) -> str:
    """The physical plan of a model's result, as Spark prints it."""
    plan: Any = frame._jdf.queryExecution().executedPlan()
    return str(plan.toString())
