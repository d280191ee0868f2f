"""What a running stage sees: the experiment, the ports, the run directory, earlier outputs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cookbook_runtime.errors import ConfigError
from cookbook_runtime.framework._progress import Progress, ProgressListener
from cookbook_runtime.framework._refs import ArtifactRef
from cookbook_runtime.framework._run_dir import RunDir
from cookbook_runtime.ir import Experiment
from cookbook_runtime.ports import Ports

__all__ = ["Context"]

logger = logging.getLogger(__name__)

R = TypeVar("R", bound=ArtifactRef)


@dataclass
class Context:
    """Per-run state handed to every stage."""

    experiment: Experiment
    ports: Ports
    run_dir: RunDir
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Stage key -> outputs of stages finished so far (including those resumed)."""
    artifacts: Any = None
    """An `ArtifactMirror` when the run mirrors artifacts to a blob store, else None."""
    progress: ProgressListener | None = None
    """Who watches this run's progress (e.g. the CLI's bar); None: nobody."""
    stage: str | None = None
    """Key of the stage running now (set by the runner); None between stages."""
    refs: dict[str, list[ArtifactRef]] = field(default_factory=dict)
    """Stage key -> typed artifact refs it published, in the order stages finished (or resumed)."""

    def publish(self, ref: ArtifactRef) -> None:
        """Publish `ref` as an output of the running stage; it replaces one it `replaces` (of the same type)."""
        if self.stage is None:
            raise RuntimeError("Context.publish called outside a running stage")
        kept = [r for r in self.refs.get(self.stage, []) if not ref.replaces(r)]
        self.refs[self.stage] = [*kept, ref]

    def find_artifact(self, cls: type[R], stage: str | None = None, *, kind: str | None = None) -> R | None:
        """The `cls` ref `stage` published (any earlier stage's, latest first, when None); None if none.

        With `kind`, only a ref whose `kind` field is that (a `DatasetArtifact`'s 'pairs' or 'sft').
        """
        if stage is not None:
            return next(
                (
                    r for r in reversed(self.refs.get(stage, []))
                    if isinstance(r, cls) and (kind is None or getattr(r, "kind", None) == kind)
                ),
                None,
            )
        for key in reversed(list(self.refs)):
            if key == self.stage:
                continue
            found = self.find_artifact(cls, key, kind=kind)
            if found is not None:
                return found
        return None

    def artifact(self, cls: type[R], stage: str | None = None, *, kind: str | None = None) -> R:
        """The `cls` ref `stage` (or the latest earlier stage) published, else a `ConfigError` saying what to fix."""
        found = self.find_artifact(cls, stage, kind=kind)
        if found is not None:
            return found
        me = f"stage {self.stage!r}" if self.stage else "this stage"
        what = cls.__name__ if kind is None else f"{cls.__name__} of kind {kind!r}"
        if stage is None:
            raise ConfigError(
                f"{me} needs a {what} and no earlier stage published one: put {cls.produces_hint} earlier in "
                "the pipeline"
            )
        keys = [s.key for s in self.experiment.pipeline]
        if stage not in keys:
            why = "is not in the pipeline: add it before"
        elif not next(s for s in self.experiment.pipeline if s.key == stage).enabled:
            why = "is disabled: enable it"
        elif stage in self.refs or (self.stage in keys and keys.index(stage) < keys.index(self.stage)):
            why = f"did not publish one ({cls.produces_hint} does): point at such a stage"
        else:
            why = "has not run yet: put it earlier in the pipeline"
        raise ConfigError(f"{me} needs a {what} from stage {stage!r}, which {why}")

    def report_progress(self, progress: Progress) -> None:
        """Send one step's progress to this run's listener; a failing listener is logged, never fatal."""
        if self.progress is None:
            return
        try:
            self.progress(progress)
        except Exception:
            logger.warning("progress listener failed", exc_info=True)
