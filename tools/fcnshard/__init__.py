"""fcnshard: sharded runs of fcn driven from Python (docs/scale-out.md).

contract  the split, the file names, the job and the manifests, exactly as
          fcn-run --shard writes them, so that fcn-merge and fcn-run's
          resume accept parts from either
part      one part on a worker: in-process through the package fcn (the
          model loaded once per process) or through fcn-run --shard
dask_run  the Dask driver (tools/fcn-dask)
"""
