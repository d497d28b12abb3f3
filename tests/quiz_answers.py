"""The quiz's answer key, for the tests only (tests are never shipped to learners).

Each phrase is one that only that option's (or mistake's) feedback contains, so a test can tell
that a verdict shows the right feedback and no other.
"""

# question id -> (right letter, {letter: a phrase only that option's feedback or explanation contains})
CHOICE_KEY = {
    "purpose": ("B", {"A": "never touches the learning rate", "B": "fresh random mask",
                      "C": "skips no layer", "D": "Data augmentation changes"}),
    "make_p30": ("A", {"A": "prints as `Dropout(p=0.3, inplace=False)`", "B": "not a percentage",
                       "C": "unexpected keyword argument 'rate'", "D": "Naming the argument"}),
    "eval_output": ("C", {"A": "what `out_train` can look like", "B": "only sets the flag `layer.training = False`",
                          "C": "is the identity", "D": "only with p = 1"}),
    "no_effect": ("D", {"A": "CPU and GPU", "B": "about 40% of the elements",
                        "C": "the other way round", "D": "starts in training mode"}),
    "best_practice": ("D", {"A": "predictions are random", "B": "the whole benefit is gone",
                            "C": "after both of its hidden layers", "D": "full, deterministic network"}),
    "self_check_gap": ("C", {"A": "examples it has already seen", "B": "not to widen it",
                             "C": "Too much dropout underfits", "D": "one final estimate"}),
    "train_values": ("B", {"A": "expected value in training (0.8)", "B": "expected value stays 1",
                           "C": "original dropout paper", "D": "Bernoulli"}),
    "output_layer": ("A", {"A": "allowed, just unhelpful", "B": "runs without error",
                           "C": "1,290 parameters", "D": "every submodule"}),
    "forgot_eval": ("C", {"A": "only stops PyTorch from recording", "B": "needs no gradients",
                          "C": "randomly thinned network", "D": "the weights do not change during validation"}),
    "functional_training": ("A", {"A": "training=self.training", "B": "plain function that only sees",
                                  "C": "does drop in training with this call", "D": "`training` is optional"}),
    "replace_validation": ("D", {"A": "does not remove it", "B": "No rate is best",
                                 "C": "needs no data at all", "D": "different jobs"}),
}
# question id -> (exact value, tolerance, phrase of the explanation, {known mistake: its phrase})
NUMBER_KEY = {
    "precision": (85 / 95, 0.005, "85 / 95", {0.85: "the recall", 0.875: "the accuracy",
                                              10 / 95: "false alarms", 85 / 200: "TP / 200"}),
    "recall": (85 / 100, 0.005, "85 / 100 = 0.85", {85 / 95: "the precision", 0.9: "specificity", 0.15: "missed",
                                                    0.875: "the accuracy", 85 / 200: "TP / 200"}),
    "accuracy": (175 / 200, 0.005, "175 / 200", {85 / 110: "leaves out the 90 true negatives",
                                                 85 / 200: "only the true positives", 90 / 200: "only the true negatives",
                                                 25 / 200: "error rate", 85 / 95: "the precision", 0.85: "the recall"}),
    "f1": (170 / 195, 0.0003, "170 / 195", {(85 / 95 + 0.85) / 2: "arithmetic mean", 0.875: "the accuracy",
                                            85 / 95: "the precision alone", 0.85: "the recall alone",
                                            85 / 110: "Jaccard"}),
    "keep_prob": (0.2, 0.005, "1 − 0.8 = 0.2", {0.8: "the keep probability itself"}),
}
POINTS = {**{q: 1 for q in CHOICE_KEY}, **{q: 1 for q in NUMBER_KEY}, "f1": 2}
