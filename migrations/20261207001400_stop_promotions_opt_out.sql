-- Meta's marketing templates carry a "Stop promotions" quick-reply button;
-- a customer who taps it sends that text as a button reply, and it must
-- opt them out like STOP does. Added to the default and to every
-- workspace's words (a workspace that removes it later keeps it removed).
alter table organizations
    alter column opt_out_words
        set default '{STOP,UNSUBSCRIBE,PARAR,SAIR,CANCELAR,BAJA,ARRET,ARRÊT,STOPP,STOP PROMOTIONS}';
update organizations set opt_out_words = array_append(opt_out_words, 'STOP PROMOTIONS')
    where not ('STOP PROMOTIONS' = any (opt_out_words));
