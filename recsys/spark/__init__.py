"""Everything that runs inside Spark. With recsys.io (the Spark readers), the only code that imports pyspark."""
