"""Evaluation: evaluator protocols and their schedule, held-out NLL, benchmark tasks and pass@k.

Loops run evaluators on an `EvalSchedule`; stages and the CLI run a
`BenchmarkEvaluator` once and keep its per-item results in the run directory.
Task references `KIND:REF` go to an installed evaluator kind (entry points
`cookbook.evaluators`, e.g. the inspect-ai adapter's `inspect:`).
"""

from cookbook_runtime.train.eval._benchmark import (
    EVAL_DIR,
    BenchmarkEvaluator,
    BenchmarkResult,
    result_paths,
    write_results,
)
from cookbook_runtime.train.eval._exact_match import (
    ExactMatchEvaluator,
    ExactMatchResult,
    QaExample,
    examples_task,
    normalize_answer,
    qa_examples,
)
from cookbook_runtime.train.eval._graders import (
    GRADERS,
    Grader,
    extract_boxed,
    get_grader,
    grader_names,
    parse_number,
)
from cookbook_runtime.train.eval._kinds import (
    EVALUATOR_ENTRY_POINT_GROUP,
    EvaluatorKind,
    TaskEvaluator,
    TaskEvaluatorFactory,
    check_task,
    evaluator_kind_names,
    get_evaluator_kind,
    split_kind,
)
from cookbook_runtime.train.eval._nll import NllEvaluator, PendingEvaluation, mean_nll, nll_sums
from cookbook_runtime.train.eval._pass_at_k import check_k, pass_at_k
from cookbook_runtime.train.eval._protocols import (
    EvalSchedule,
    Evaluator,
    PendingMetrics,
    SamplingClientEvaluator,
    SubmittingEvaluator,
    TrainingClientEvaluator,
    is_sampling_evaluator,
)
from cookbook_runtime.train.eval._tasks import (
    TASK_ENTRY_POINT_GROUP,
    BenchmarkItem,
    BenchmarkTask,
    load_task,
    read_task_file,
    task_from_rows,
    task_names,
)

__all__ = [
    "EVALUATOR_ENTRY_POINT_GROUP",
    "EVAL_DIR",
    "GRADERS",
    "TASK_ENTRY_POINT_GROUP",
    "BenchmarkEvaluator",
    "BenchmarkItem",
    "BenchmarkResult",
    "BenchmarkTask",
    "EvalSchedule",
    "Evaluator",
    "EvaluatorKind",
    "ExactMatchEvaluator",
    "ExactMatchResult",
    "Grader",
    "NllEvaluator",
    "PendingEvaluation",
    "PendingMetrics",
    "QaExample",
    "SamplingClientEvaluator",
    "SubmittingEvaluator",
    "TaskEvaluator",
    "TaskEvaluatorFactory",
    "TrainingClientEvaluator",
    "check_k",
    "check_task",
    "evaluator_kind_names",
    "examples_task",
    "extract_boxed",
    "get_evaluator_kind",
    "get_grader",
    "grader_names",
    "is_sampling_evaluator",
    "load_task",
    "mean_nll",
    "nll_sums",
    "normalize_answer",
    "parse_number",
    "pass_at_k",
    "qa_examples",
    "read_task_file",
    "result_paths",
    "split_kind",
    "task_from_rows",
    "task_names",
    "write_results",
]
