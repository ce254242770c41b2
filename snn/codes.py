"""Integer codes shared by the back end's Python side and its kernels: models, rules and parameter columns.

Kernels receive per-population and per-projection parameters as rows of a float table indexed by these.
"""
MODEL_INPUT, MODEL_POISSON, MODEL_LIF, MODEL_ALIF, MODEL_LIF_COND, MODEL_IZHIKEVICH, MODEL_LIF_ADAPT = range(7)
MODEL_INTEGRATE_FIRE = 7
MODELS = {"input": MODEL_INPUT, "poisson": MODEL_POISSON, "lif": MODEL_LIF, "alif": MODEL_ALIF,
          "lif_cond": MODEL_LIF_COND, "izhikevich": MODEL_IZHIKEVICH, "lif_adapt": MODEL_LIF_ADAPT,
          "integrate_fire": MODEL_INTEGRATE_FIRE}

P_V_REST, P_V_RESET, P_V_TH, P_DECAY_MEM, P_K_EXC, P_K_INH, P_DECAY_EXC, P_DECAY_INH, P_REFRACTORY, P_NOISE = range(10)
# model-specific columns: ALIF (adaptive threshold), conductance LIF, Izhikevich
P_DECAY_ADAPT, P_D_THETA = 10, 11
P_E_EXC, P_E_INH, P_DT_MS, P_TAU_MEM = 12, 13, 14, 15
P_IZ_A, P_IZ_B, P_IZ_C, P_IZ_D, P_IZ_SUBSTEPS = 16, 17, 18, 19, 20
P_K_ADAPT, P_D_W = 21, 22  # adaptation current (lif_adapt): gain of w in the v update, jump per spike (mV)
N_POP_PARAMS = 23

RULE_NONE, RULE_PAIR_STDP, RULE_REWARD_STDP, RULE_TRIPLET_STDP, RULE_THIRD_FACTOR = 0, 1, 2, 3, 4
R_A_PLUS, R_A_MINUS, R_W_MIN, R_W_MAX, R_LEARNING_RATE, R_ELIG_DECAY, R_A3_PLUS, R_A3_MINUS = range(8)
N_RULE_PARAMS = 8
PORTS = {"exc": 0, "inh": 1}
