"""RL environments the recipes train on, registered under `cookbook.rl_envs`.

`arithmetic` (synthetic sums), `letters` (tiny-chat's copy/reverse/sort tasks), `gsm8k` and `math` (dataset problems with boxed
answers), `guess_number` (multi-turn with feedback) and `calculator` (tool use).
"""

from cookbook_recipes.rl_envs.arithmetic import ArithmeticEnv, ArithmeticRL
from cookbook_recipes.rl_envs.calculator import CalculatorEnv, CalculatorRL, evaluate
from cookbook_recipes.rl_envs.guess_number import GuessNumberEnv, GuessNumberRL
from cookbook_recipes.rl_envs.hub_math import BoxedAnswerEnv, Gsm8kRL, MathRL
from cookbook_recipes.rl_envs.letters import LettersEnv, LettersRL

__all__ = [
    "ArithmeticEnv",
    "ArithmeticRL",
    "BoxedAnswerEnv",
    "CalculatorEnv",
    "CalculatorRL",
    "Gsm8kRL",
    "GuessNumberEnv",
    "GuessNumberRL",
    "LettersEnv",
    "LettersRL",
    "MathRL",
    "evaluate",
]
